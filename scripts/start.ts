/** `npm start`: brings up the local stack on embedded defaults and prints how to call it. */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { seedSpamDatasets } from '../infra/datasets';
import { startStack } from '../infra/local-stack';

const root = process.cwd();
const stateDir = process.env.CHORUS_STATE_DIR ?? join(root, '.cache/local-stack');
const s3Port = Number(process.env.CHORUS_S3_PORT ?? 4569);
const edgePort = Number(process.env.CHORUS_EDGE_PORT ?? 8787);
const containerPort = Number(process.env.CHORUS_CONTAINER_PORT ?? 8788);
const pidFile = join(root, '.cache/chorus.pid');

const stack = await startStack({
  root,
  stateDir,
  s3Port,
  edgePort,
  containerPort,
  log: (l) => console.log(`[chorus] ${l}`),
});
if (!(await stack.store.head('datasets/spam/validation.jsonl'))) {
  await seedSpamDatasets(stack.store);
  console.log(
    "[chorus] datasets/spam/{train,validation,test}.jsonl written (train: the zoo's fit rows; validation, test: halves of its test split)",
  );
}
await writeFile(pidFile, String(process.pid));

const sample = 'Subject: You WON a FREE prize!!!\\n\\nClick http://claim.example.biz/now to claim $1000 cash today!';
console.log(`
Chorus is up.
  edge API     ${stack.edgeUrl}   (OpenAPI: ${stack.edgeUrl}/openapi.json, docs: ${stack.edgeUrl}/docs)
  local S3     ${stack.s3Endpoint}  bucket '${stack.bucket}' (access key / secret: S3RVER / S3RVER)
  container    ${stack.containerUrl}  (jobs, HMAC-signed by the edge)
  admin token  ${stack.adminToken}   (bootstrap: creates keys; a secret in production)
  admin key: ${stack.adminKey}
  demo key: ${stack.demoKey}   (predict on spam only)

Try it:
  curl -s ${stack.edgeUrl}/v1/ensembles/spam/predict \\
    -H 'authorization: Bearer ${stack.demoKey}' \\
    -H 'content-type: application/json' \\
    -d '{"inputs":[{"message":"${sample}"}],"return_members":true}'

Usage of the demo key (units and requests by day):
  curl -s ${stack.edgeUrl}/v1/usage -H 'authorization: Bearer ${stack.demoKey}'

Run a job (fits soft-vote weights on validation and publishes them if they do not hurt log-loss):
  npm run job -- '{"kind":"fit-weights","ensemble":"spam","validation":"datasets/spam/validation.jsonl","method":"ensemble-selection"}'

Ctrl-C or \`npm stop\` stops everything.`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\n[chorus] stopping…');
  await stack.stop();
  await rm(pidFile, { force: true });
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
