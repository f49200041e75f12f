import type { EnsembleManifest } from '../../lib/schema';

/** Each member of `manifest` as an ensemble of its own (`spam-<member>`), for ensemble-vs-one rows. */
export function singleMemberManifests(manifest: EnsembleManifest): EnsembleManifest[] {
  return manifest.members.map((member) => ({
    ...manifest,
    name: `${manifest.name}-${member.id}`,
    members: [member],
    fusion: { strategy: 'soft', temperature: 1, quorum: 1 },
  }));
}
