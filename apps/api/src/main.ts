import 'reflect-metadata';
import { loadConfigOrExit } from '@app/platform';
import { createApiApp } from './bootstrap';

async function main() {
  const config = loadConfigOrExit();
  const app = await createApiApp({ config });
  await app.listen({ port: config.port, host: config.host });
}

main().catch((e) => {
  console.error(JSON.stringify({ level: 'fatal', msg: 'api failed to start', error: (e as Error).message }));
  process.exit(1);
});
