import { dirname, isAbsolute, resolve, sep } from "node:path";
import { ApiError } from "./api_error.ts";

function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** The real path of `path`, or of its deepest ancestor that exists, with the rest re-appended. */
async function realPathOfExisting(path: string): Promise<string> {
  const rest: string[] = [];
  let at = path;
  while (true) {
    try {
      return resolve(await Deno.realPath(at), ...rest.reverse());
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      const parent = dirname(at);
      if (parent === at) return path;
      rest.push(at.slice(parent.length).replace(/^[\\/]+/, ""));
      at = parent;
    }
  }
}

/**
 * Resolves a download folder asked for through the API, and refuses one outside the
 * daemon's download root: a relative folder is taken below the root, an absolute one must lie
 * inside it, and so must its real path once symbolic links in the part that exists are
 * followed (a link inside the root that points out is refused too).
 * @param requested The folder asked for, or `undefined` for the root itself.
 * @param root The download root (`-o`).
 * @returns The absolute folder.
 * @throws {ApiError} 400 for something that is not a folder name, 403 for a folder outside
 *   the root.
 * @example
 * ```ts
 * import { resolveAllowedDir } from "@shoal/shoal/daemon";
 * import { rejects, strictEqual } from "node:assert/strict";
 * const root = await Deno.realPath(await Deno.makeTempDir());
 * strictEqual(await resolveAllowedDir("films", root), `${root}/films`);
 * await rejects(resolveAllowedDir("../elsewhere", root), /outside/);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function resolveAllowedDir(
  requested: string | undefined,
  root: string,
): Promise<string> {
  const base = resolve(root);
  if (requested === undefined || requested === "") return base;
  if (typeof requested !== "string" || requested.includes("\0") || requested.length > 4096) {
    throw new ApiError(400, "Cannot use the download folder: not a folder name");
  }
  const target = isAbsolute(requested) ? resolve(requested) : resolve(base, requested);
  const refuse = () =>
    new ApiError(403, `Cannot use download folder ${requested}: it is outside ${base}`);
  if (!inside(target, base)) throw refuse();
  const [realTarget, realBase] = await Promise.all([
    realPathOfExisting(target),
    realPathOfExisting(base),
  ]);
  if (!inside(realTarget, realBase)) throw refuse();
  return target;
}
