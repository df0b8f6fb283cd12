// The one way a route refuses a request: throw an HttpError with the status and a message that
// says what was wrong and how to fix it; the server answers `{ "error": message }` as JSON.
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);
export const notFound = (message: string): HttpError => new HttpError(404, message);
