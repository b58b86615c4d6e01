// A loopback HTTP server that answers as a test script says, for S3 failures moto cannot make (403, 5xx, drops).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** Answers one request; `attempt` counts from 1 over the server's life. */
export type Respond = (request: IncomingMessage, response: ServerResponse, attempt: number) => void;

export interface ScriptedS3Server {
  url: string;
  /** Every request received, in order. */
  seen: IncomingMessage[];
  /** What answers the next requests: set by each test. */
  respond: Respond;
  close(): Promise<void>;
}

export async function startScriptedS3Server(): Promise<ScriptedS3Server> {
  const seen: IncomingMessage[] = [];
  // No request can arrive before `scripted` is made: the address is not known until then.
  const server = createServer((request, response) => {
    seen.push(request);
    scripted.respond(request, response, seen.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const scripted: ScriptedS3Server = {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    respond: (_request, response) => response.writeHead(501).end(),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return scripted;
}

/** S3's error answer: a status and its XML body with a Code and a Message. */
export function answerS3Error(response: ServerResponse, status: number, code: string, message: string): void {
  response.writeHead(status, { 'content-type': 'application/xml' });
  response.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}
