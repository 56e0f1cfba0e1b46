// Run Python in real Pyodide (the WebAssembly Python that xlwings Lite is), under Node.
//
//   node run_pyodide.mjs JOB.json
//
// JOB.json: {"pyodide": dir of the `pyodide` npm package,
//            "bootstrap": [wheel paths unpacked directly: micropip and what it needs],
//            "install": [wheel paths installed with micropip, as Lite installs requirements.txt],
//            "files": {"/path/in/pyodide": "host path"},
//            "env": {"NAME": "value"},
//            "cwd": "/home/pyodide",
//            "code": "python source, run with top-level await"}
// Nothing is fetched from the network: every file comes from the host.
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { loadPyodide } = await import(pathToFileURL(join(job.pyodide, "pyodide.mjs")).href);
const py = await loadPyodide({
  indexURL: job.pyodide + "/",
  env: { HOME: "/home/pyodide", ...job.env },
  stdout: (s) => process.stdout.write(s + "\n"),
  stderr: (s) => process.stderr.write(s + "\n"),
});
const bytes = (p) => new Uint8Array(readFileSync(p));
for (const w of job.bootstrap) py.unpackArchive(bytes(w), "wheel");
py.FS.mkdirTree("/wheels");
const wheels = job.install.map((w) => {
  py.FS.writeFile("/wheels/" + basename(w), bytes(w));
  return "emfs:/wheels/" + basename(w);
});
for (const [dst, src] of Object.entries(job.files)) {
  py.FS.mkdirTree(dst.substring(0, dst.lastIndexOf("/")) || "/");
  py.FS.writeFile(dst, bytes(src));
}
py.globals.set("_wheels", py.toPy(wheels));
await py.runPythonAsync(`
import micropip
await micropip.install(list(_wheels))
del _wheels
`);
py.FS.chdir(job.cwd || "/home/pyodide");
try {
  await py.runPythonAsync(job.code);
} catch (e) {
  process.stderr.write(String(e.message || e) + "\n");
  process.exit(1);
}
