import 'reflect-metadata';
import { loadConfigOrExit } from '@app/platform';
import { createWorkerApp } from './bootstrap';

createWorkerApp({ config: loadConfigOrExit() }).catch((e) => {
  console.error(JSON.stringify({ level: 'fatal', msg: 'worker failed to start', error: (e as Error).message }));
  process.exit(1);
});
