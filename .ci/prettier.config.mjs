// Prettier for the addon's JavaScript and XML (Odoo's own style: 4 spaces, 100 columns).
import { fileURLToPath } from "node:url";

const xmlPlugin = fileURLToPath(import.meta.resolve("@prettier/plugin-xml"));

export default {
    printWidth: 100,
    tabWidth: 4,
    bracketSameLine: true,
    plugins: [xmlPlugin],
    overrides: [
        {
            files: "*.xml",
            options: { xmlWhitespaceSensitivity: "ignore", xmlSelfClosingSpace: true },
        },
    ],
};
