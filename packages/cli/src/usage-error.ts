// The one error a user's command line can cause: `tray` prints its message and the usage of the
// command, and exits 2 (the shell convention for a misused command).
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage to print ('' for the top level). */
    readonly command = '',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}
