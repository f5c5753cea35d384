// Which command lines load the completion library, and which completion requests are
// worth a ListVms while the user waits on TAB.
import assert from "node:assert/strict";
import { completesName, completionWords, wantsCompletion } from "../../src/cli/completion.ts";

Deno.test("the library is loaded only when argv names a completion command", () => {
  assert.ok(wantsCompletion(["completion", "bash"]));
  assert.ok(wantsCompletion(["-o", "json", "completion", "zsh"]));
  assert.ok(wantsCompletion(["complete", "--", "vm", ""]));
  assert.ok(!wantsCompletion(["vm", "list"]));
  assert.ok(!wantsCompletion(["--version"]));
  assert.ok(!wantsCompletion([]));
});

Deno.test("completionWords: what follows `complete --`, nothing otherwise", () => {
  assert.deepEqual(completionWords(["complete", "--", "vm", "start", ""]), ["vm", "start", ""]);
  assert.deepEqual(completionWords(["complete", "--"]), []);
  assert.equal(completionWords(["complete", "bash"]), undefined);
  assert.equal(completionWords(["completion", "bash"]), undefined);
  assert.equal(completionWords(["vm", "list"]), undefined);
});

Deno.test("completesName: a VM or network argument of a command that takes one", () => {
  for (
    const words of [
      ["vm", "start", ""],
      ["vm", "start", "we"],
      ["vm", "start", "web", ""],
      ["vm", "stop", "--force", ""],
      ["vm", "rm", "-f", "w"],
      ["vm", "console", ""],
      ["vm", "logs", "-f", ""],
      ["vm", "get", ""],
      ["vm", "port", ""],
    ]
  ) {
    assert.equal(completesName(words), "vm", words.join(" "));
  }
  for (
    const words of [
      ["vm", ""],
      ["vm", "st"],
      ["vm", "list", ""],
      ["vm", "create", "--name", ""],
      ["vm", "start", "--"],
      ["status", ""],
      ["network", "create", ""],
      [""],
      [],
    ]
  ) {
    assert.equal(completesName(words), undefined, words.join(" "));
  }
  for (
    const words of [["network", "qos", ""], ["network", "rm", "a", ""], ["network", "get", "w"]]
  ) {
    assert.equal(completesName(words), "network", words.join(" "));
  }
});
