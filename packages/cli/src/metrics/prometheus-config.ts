// The prometheus.yml `tray metrics launch-prometheus` writes for a session: one scrape job over
// the session's prom_metrics_service_discovery.json (the GCS keeps it listing every node's
// metrics endpoint, so Prometheus follows nodes as they join and leave), sending the session's
// token file as the Bearer credentials. YAML is written by hand here only because the file is
// this small and fixed: every value is a path or a duration, quoted as JSON strings (valid YAML).

export interface PrometheusConfigOptions {
  /** The head's session directory (token, prom_metrics_service_discovery.json). */
  sessionDir: string;
  /** Prometheus duration, e.g. "10s" (Ray's dashboard default). */
  scrapeInterval: string;
  /** With TRAY_USE_TLS: the PEM files Prometheus presents and trusts. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

const DURATION = /^\d+(ms|s|m|h)$/;

export function prometheusConfig(o: PrometheusConfigOptions): string {
  if (!DURATION.test(o.scrapeInterval)) {
    throw new TypeError(
      `the scrape interval must be a Prometheus duration such as 1s or 10s, got '${o.scrapeInterval}'`,
    );
  }
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    '# Written by `tray metrics launch-prometheus` for this session.',
    'global:',
    `  scrape_interval: ${q(o.scrapeInterval)}`,
    `  evaluation_interval: ${q(o.scrapeInterval)}`,
    'scrape_configs:',
    "  - job_name: 'tray'",
    `    scheme: ${o.tls ? 'https' : 'http'}`,
    '    authorization:',
    `      credentials_file: ${q(`${o.sessionDir}/token`)}`,
    '    file_sd_configs:',
    `      - files: [${q(`${o.sessionDir}/prom_metrics_service_discovery.json`)}]`,
    `        refresh_interval: ${q(o.scrapeInterval)}`,
  ];
  if (o.tls) {
    lines.push(
      '    tls_config:',
      `      cert_file: ${q(o.tls.certFile)}`,
      `      key_file: ${q(o.tls.keyFile)}`,
      `      ca_file: ${q(o.tls.caFile)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
