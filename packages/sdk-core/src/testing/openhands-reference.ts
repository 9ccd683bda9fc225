/**
 * The field lists of OpenHands' pydantic models, read from the reference agent-server sources
 * (`shared/reference/openhands-agent-server-1.43.1.tgz`, found beside the repository or any
 * folder above it) with Python's own parser (`python3` on the PATH), so tests compare what
 * Ferry writes or serves with the real models rather than with a copy of them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REFERENCE = 'shared/reference/openhands-agent-server-1.43.1.tgz';

/** One model class: every field (inherited ones first) and whether it forbids others. */
export interface OpenHandsReferenceModel {
  fields: string[];
  forbidsExtra: boolean;
}

// Reads every class of every .py file in the archive; resolves fields and `extra` through the
// bases by class name (the first class of a name wins, which is the SDK's for event and tool
// models).
const EXTRACT = String.raw`
import ast, json, sys, tarfile
classes = {}
with tarfile.open(sys.argv[1]) as tar:
    for member in tar.getmembers():
        if not member.name.endswith('.py'):
            continue
        try:
            tree = ast.parse(tar.extractfile(member).read().decode())
        except SyntaxError:
            continue
        for node in tree.body:
            if not isinstance(node, ast.ClassDef) or node.name in classes:
                continue
            fields, extra = [], None
            for statement in node.body:
                target = getattr(statement, 'target', None) or (getattr(statement, 'targets', None) or [None])[0]
                if not isinstance(target, ast.Name):
                    continue
                if target.id == 'model_config' and statement.value is not None:
                    text = ast.unparse(statement.value)
                    if 'extra=' in text:
                        extra = text.split('extra=')[1].split(',')[0].split(')')[0].strip('\'"')
                elif isinstance(statement, ast.AnnAssign) and not target.id.startswith('_') \
                        and not ast.unparse(statement.annotation).startswith('ClassVar'):
                    fields.append(target.id)
            bases = [ast.unparse(base).split('[')[0].split('.')[-1] for base in node.bases]
            classes[node.name] = {'bases': bases, 'fields': fields, 'extra': extra}
def resolve(name, seen=()):
    model = classes.get(name)
    if model is None or name in seen:
        return [], None
    fields, extra = [], None
    for base in model['bases']:
        base_fields, base_extra = resolve(base, seen + (name,))
        fields += [field for field in base_fields if field not in fields]
        extra = extra or base_extra
    fields += [field for field in model['fields'] if field not in fields]
    return fields, model['extra'] or extra
out = {}
for name in classes:
    fields, extra = resolve(name)
    out[name] = {'fields': fields, 'forbidsExtra': extra == 'forbid'}
json.dump(out, sys.stdout)
`;

/**
 * The reference archive: `openhands-agent-server-1.43.1.tgz` in the folder `FERRY_REFERENCE_DIR`
 * names, else `shared/reference/` beside the repository (CI) or beside one of its parents.
 * @throws Error naming where it looked and how to point at the archive.
 */
export function referenceArchive(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.FERRY_REFERENCE_DIR;
  if (fromEnv !== undefined && fromEnv !== '') {
    const candidate = join(fromEnv, basename(REFERENCE));
    if (existsSync(candidate)) return candidate;
    throw new Error(`FERRY_REFERENCE_DIR is set, but ${candidate} does not exist.`);
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, REFERENCE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      // Where this workplace keeps it, whatever folder the repository was cloned into.
      const shared = join('/work', REFERENCE);
      if (existsSync(shared)) return shared;
      throw new Error(
        `${REFERENCE} was not found beside this package or any folder above it; set ` +
          `FERRY_REFERENCE_DIR to the folder that holds ${basename(REFERENCE)}.`,
      );
    }
    dir = parent;
  }
}

let cache: Map<string, OpenHandsReferenceModel> | undefined;

/**
 * Every model class of the reference sources, by class name (parsed once; seconds on a busy
 * machine, so call it in a `beforeAll` with a long timeout).
 */
export function openHandsReferenceModels(): Map<string, OpenHandsReferenceModel> {
  cache ??= new Map(
    Object.entries(
      JSON.parse(
        execFileSync('python3', ['-c', EXTRACT, referenceArchive()], {
          encoding: 'utf8',
          maxBuffer: 64 * 1024 * 1024,
        }),
      ) as Record<string, OpenHandsReferenceModel>,
    ),
  );
  return cache;
}

/** The model for a document's `kind` (OpenHands' discriminator is the class name). */
export function openHandsReferenceModel(kind: string): OpenHandsReferenceModel {
  const model = openHandsReferenceModels().get(kind);
  if (model === undefined) throw new Error(`OpenHands has no model named ${kind}`);
  return model;
}

/** Content parts (`type: text | image`) are models without a `kind`. */
const CONTENT_MODELS: Record<string, string> = { text: 'TextContent', image: 'ImageContent' };

/**
 * Every place in `document` where OpenHands' models would refuse a field: objects with a `kind`
 * of a model that forbids unknown fields, and message content parts. Each problem reads
 * `<path>: <kind> has no field <name>`. Unknown kinds are reported too.
 */
export function openHandsModelProblems(document: unknown, path = '$'): string[] {
  if (Array.isArray(document)) {
    return document.flatMap((item, index) => openHandsModelProblems(item, `${path}[${index}]`));
  }
  if (typeof document !== 'object' || document === null) return [];
  const record = document as Record<string, unknown>;
  const problems: string[] = [];
  const modelName =
    typeof record.kind === 'string'
      ? record.kind
      : typeof record.type === 'string'
        ? CONTENT_MODELS[record.type]
        : undefined;
  if (modelName !== undefined) {
    const model = openHandsReferenceModels().get(modelName);
    if (model === undefined) problems.push(`${path}: OpenHands has no model ${modelName}`);
    else if (model.forbidsExtra) {
      const allowed = new Set([...model.fields, 'kind']);
      for (const key of Object.keys(record)) {
        if (!allowed.has(key)) problems.push(`${path}: ${modelName} has no field ${key}`);
      }
    }
  }
  for (const [key, value] of Object.entries(record)) {
    // A state update's value is free-form (`Any`), and so are a tool call's arguments.
    if (record.kind === 'ConversationStateUpdateEvent' && key === 'value') continue;
    problems.push(...openHandsModelProblems(value, `${path}.${key}`));
  }
  return problems;
}
