import { z } from 'zod';

/**
 * The named schemas of the OpenAPI document (`components.schemas`). A registry of our own,
 * not zod's global one, so names cannot collide with another library's.
 */
export const apiRegistry = z.registry<{ id: string; description?: string }>();
