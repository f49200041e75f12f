/** Where each metering Durable Object lives: one meter per key hash or anonymous client, one directory. */
import type { EdgeEnv } from '../env';

export const meterOf = (env: EdgeEnv, keyHash: string) => env.KEY_METER.get(env.KEY_METER.idFromName(keyHash));
export const clientMeterOf = (env: EdgeEnv, client: string) =>
  env.KEY_METER.get(env.KEY_METER.idFromName(`client:${client}`));
export const directoryOf = (env: EdgeEnv) => env.KEY_DIRECTORY.get(env.KEY_DIRECTORY.idFromName('directory'));
