// Calls back once when a response body has been fully read, failed, or was abandoned.
import type { MeshResponse } from './types';

export function onBodyDone(res: MeshResponse, done: (error?: Error) => void): MeshResponse {
  let called = false;
  const once = (error?: Error) => {
    if (called) return;
    called = true;
    done(error);
  };
  res.body.once('end', () => once());
  res.body.once('error', (err) => once(err));
  res.body.once('close', () => once());
  return res;
}
