import { z } from 'zod';

/** The workspace kinds Ferry knows, named after the OpenHands classes. */
export const workspaceKindSchema = z.enum(['LocalWorkspace', 'RemoteWorkspace']);
export type WorkspaceKind = z.infer<typeof workspaceKindSchema>;

/**
 * The persisted form of a workspace (the `workspace` field of a conversation's state), e.g.
 * `{ kind: 'LocalWorkspace', working_dir: '/project' }`. Unknown fields are kept, and so are
 * kinds Ferry does not know (OpenHands writes e.g. `DockerWorkspace`), so any state loads.
 */
export const workspaceDescriptorSchema = z.looseObject({
  kind: z.string().min(1),
  working_dir: z.string(),
});
export type WorkspaceDescriptor = z.infer<typeof workspaceDescriptorSchema>;
