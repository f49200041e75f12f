/**
 * Answers the CLI reads besides lib/schema's: the pointer move of publish/rollback and the
 * ensemble list (both declared in the edge's route file). The lifecycle answers (archive, versions,
 * diff, unreferenced models) are lib/schema/lifecycle.ts's, re-exported here for the commands.
 */
import { z } from 'zod';
import { EnsembleNameSchema } from '../lib/schema';

export {
  ArchiveStateSchema,
  type ManifestDiff,
  ManifestDiffSchema,
  UnreferencedModelListSchema,
  type VersionList,
  VersionListSchema,
} from '../lib/schema';

const Version = z.number().int().nonnegative();

/** Where the current pointer is now and where it was (publish, rollback). */
export const PointerMoveSchema = z.object({ name: EnsembleNameSchema, version: Version, previous: Version });

/** `archived` is there once the server knows archiving (and lists archived ones on ?archived=true). */
export const EnsembleListSchema = z.object({
  ensembles: z.array(z.object({ name: EnsembleNameSchema, version: Version, archived: z.boolean().optional() })),
});
