import type { R2ObjectEvent } from '../schema';

/**
 * R2's object-create notification body for a stored object, for where Chorus announces a file
 * itself (the local upload route, a re-announce of a batch whose notification never came).
 */
export function objectCreatedEvent(bucket: string, key: string, size: number, eTag: string): R2ObjectEvent {
  return {
    account: 'local',
    action: 'PutObject',
    bucket,
    object: { key, size, eTag },
    eventTime: new Date().toISOString(),
  };
}
