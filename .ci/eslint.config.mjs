// ESLint for the POS code: Odoo 18 modules are ES modules running in the browser.
import js from "@eslint/js";
import globals from "globals";

export default [
    js.configs.recommended,
    {
        files: ["static/**/*.js", "bridges/*/static/**/*.js"],
        languageOptions: {
            ecmaVersion: 2024,
            sourceType: "module",
            globals: { ...globals.browser, odoo: "readonly", owl: "readonly" },
        },
        rules: {
            "no-unused-vars": ["error", { args: "none" }],
            "prefer-const": "error",
            "no-var": "error",
            eqeqeq: ["error", "smart"],
        },
    },
];
