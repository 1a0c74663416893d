import { deepStrictEqual } from "node:assert/strict";
import { resolveSymlinkTargets, type SymlinkEntry } from "../../src/metainfo/resolve_symlinks.ts";

const file = (path: string): SymlinkEntry => ({ path: `t/${path}`.split("/") });
const link = (path: string, target: string): SymlinkEntry => ({
  path: `t/${path}`.split("/"),
  symlink: target.split("/"),
});

function targets(entries: SymlinkEntry[]): (string | undefined)[] {
  return resolveSymlinkTargets(entries).map((r) =>
    r === undefined ? undefined : `${r.valid ? "" : "!"}${r.target.join("/")}`
  );
}

Deno.test("resolveSymlinkTargets() accepts files and folders of the torrent", () => {
  deepStrictEqual(
    targets([file("a"), file("sub/f"), link("l1", "a"), link("l2", "sub"), link("d/l3", "a")]),
    [undefined, undefined, "a", "sub", "a"],
  );
});

Deno.test("resolveSymlinkTargets() also resolves a target from the link's own folder", () => {
  deepStrictEqual(targets([file("sub/f"), link("sub/l", "f")]), [undefined, "sub/f"]);
  deepStrictEqual(targets([file("sub/deep/f"), link("sub/l", "deep")]), [undefined, "sub/deep"]);
});

Deno.test("resolveSymlinkTargets() points a link with a foreign target to itself", () => {
  deepStrictEqual(targets([file("a"), link("x/l", "etc/passwd"), link("m", "nowhere")]), [
    undefined,
    "!x/l",
    "!m",
  ]);
});

Deno.test("resolveSymlinkTargets() follows links to folders, once each", () => {
  deepStrictEqual(targets([file("real/f"), link("l1", "real"), link("via", "l1/f")]), [
    undefined,
    "real",
    "l1/f",
  ]);
  deepStrictEqual(targets([link("a", "b/x"), link("b", "a/x")]), ["!a", "!b"], "a loop");
  deepStrictEqual(
    targets([file("real/f"), link("l1", "real"), link("via", "l1/nothing")]),
    [undefined, "real", "!via"],
    "the followed path must still exist",
  );
});

Deno.test("resolveSymlinkTargets() leaves a torrent without links alone", () => {
  deepStrictEqual(targets([file("a"), file("b")]), [undefined, undefined]);
});
