// The workflow_run and workflow_job examples GitHub publishes (@octokit/webhooks-examples):
// realistic payloads (7–20 KB) for the ingestion benchmark.
import { createRequire } from 'node:module';

interface Example {
  name: string;
  examples: Array<Record<string, unknown>>;
}

const require = createRequire(import.meta.url);
const all = require('@octokit/webhooks-examples') as Example[];

export function templates() {
  const pick = (n: string) => all.find((e) => e.name === n)!.examples;
  return { runs: pick('workflow_run'), jobs: pick('workflow_job') };
}
