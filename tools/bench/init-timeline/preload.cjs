// Preloaded (NODE_OPTIONS=--require) into every process of one `tray.init()` run by
// ../init-timeline.mjs: appends to the file in TRAY_TIMELINE_FILE, with absolute times, when the
// process was spawned, when its bootstrap finished (this file runs), its first listens and
// connects, the IPC messages it sends (a daemon's `ready`), and the CPU it used by exit.
'use strict';
const fs = require('node:fs');
const net = require('node:net');

const file = process.env.TRAY_TIMELINE_FILE;
if (file) {
  const script = (process.argv[1] ?? '-e').split('/').slice(-3).join('/');
  const write = (at, event) =>
    fs.appendFileSync(file, `${at.toFixed(1)}\t${process.pid}\t${script}\t${event}\n`);
  const now = () => performance.timeOrigin + performance.now();
  const cpuMs = () => {
    const u = process.cpuUsage();
    return Math.round((u.user + u.system) / 1000);
  };
  write(performance.timeOrigin, 'spawned');
  write(now(), `bootstrapped (cpu ${cpuMs()} ms)`);
  const describe = (a) => {
    // Sockets connect with (options, cb) or with Node's normalized [options, cb].
    const o = Array.isArray(a[0]) ? a[0][0] : a[0];
    if (typeof o === 'object' && o !== null) return o.path ?? `${o.host ?? ''}:${o.port}`;
    return String(o);
  };
  let connects = 0;
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    if (connects++ < 4) write(now(), `connect ${describe(args)}`);
    return connect.apply(this, args);
  };
  let listens = 0;
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    if (listens++ < 4) write(now(), `listen ${describe(args)}`);
    return listen.apply(this, args);
  };
  if (process.send) {
    const send = process.send.bind(process);
    process.send = (message, ...rest) => {
      write(now(), `ipc send ${message?.type}`);
      return send(message, ...rest);
    };
  }
  process.on('exit', () => write(now(), `exit (cpu ${cpuMs()} ms)`));
}
