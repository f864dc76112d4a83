/**
 * Loads and compiles the handlebars templates under templates/. Templates only ever see resolved
 * values; the helpers here format, they never supply a default.
 */
import * as fs from "fs";
import * as path from "path";
import Handlebars from "handlebars";

/** templates/ sits beside the sources and, after `tsc`, two levels above bin/render/. */
function findTemplatesDir(): string {
    for (let dir = __dirname; ; dir = path.dirname(dir)) {
        const candidate = path.join(dir, "templates");
        if (fs.existsSync(path.join(candidate, "haproxy.cfg.hbs"))) return candidate;
        if (path.dirname(dir) === dir) throw new Error(`templates/ not found above ${__dirname}`);
    }
}

export const TEMPLATES_DIR = findTemplatesDir();

const hbs = Handlebars.create();

/** Single-quote a value for POSIX sh. */
export function shellQuote(value: string | number): string {
    return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

hbs.registerHelper("shq", (value: string | number) => new Handlebars.SafeString(shellQuote(value)));
hbs.registerHelper("eq", (a: unknown, b: unknown) => a === b);
hbs.registerHelper("join", (items: unknown[], separator: unknown) => items.join(typeof separator === "string" ? separator : " "));

for (const file of fs.readdirSync(TEMPLATES_DIR)) {
    if (file.startsWith("_") && file.endsWith(".hbs")) {
        hbs.registerPartial(file.slice(1).split(".")[0], fs.readFileSync(path.join(TEMPLATES_DIR, file), "utf8"));
    }
}

const compiled = new Map<string, Handlebars.TemplateDelegate>();

/** Render `templates/<name>.hbs` (e.g. `haproxy.cfg`) with `data`. Output is never HTML-escaped. */
export function renderTemplate(name: string, data: object): string {
    let template = compiled.get(name);
    if (!template) {
        const source = fs.readFileSync(path.join(TEMPLATES_DIR, `${name}.hbs`), "utf8");
        template = hbs.compile(source, { noEscape: true, strict: true });
        compiled.set(name, template);
    }
    return template(data);
}
