// Builds the plugin (main.js, CommonJS, as Obsidian loads it) and the API client as an ES module
// for the Node tests (build/client.mjs).
import { builtinModules } from "node:module";
import esbuild from "esbuild";

await esbuild.build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  format: "cjs",
  platform: "browser",
  target: "es2021",
  external: ["obsidian", "electron", "@codemirror/*", "@lezer/*", ...builtinModules],
  outfile: "main.js",
  sourcemap: false,
  logLevel: "info",
});

await esbuild.build({
  entryPoints: ["src/client.ts"],
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node18",
  outfile: "build/client.mjs",
  logLevel: "info",
});
