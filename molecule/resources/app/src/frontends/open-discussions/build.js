// Builds dist/bundle.js from src/: what `npm run build` does for the real frontend.
const fs = require("fs");
const path = require("path");
const features = require("./src/features.js");
const pkg = require("./package.json");
const dist = path.join(__dirname, "dist");
fs.mkdirSync(dist, { recursive: true });
const bundle = `/* open-discussions ${pkg.version} */\nwindow.OD_FEATURES = ${JSON.stringify(features)};\n`;
fs.writeFileSync(path.join(dist, "bundle.js"), bundle);
console.log(`built dist/bundle.js (${pkg.version}: ${features.join(", ")})`);
