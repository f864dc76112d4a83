/**
 * Loads and compiles the handlebars templates under templates/ (and a provider's own folder of
 * them). Templates only ever see resolved values; the helpers here format, they never supply a default.
 */
import * as fs from "fs";
import * as path from "path";
import Handlebars from "handlebars";

/**
 * The folder `relative` (the one holding `marker`) under the first folder above `from` that has it:
 * templates sit beside the sources and, after `tsc`, above bin/.
 */
export function findTemplatesDir(from: string, relative: string, marker: string): string {
    for (let dir = from; ; dir = path.dirname(dir)) {
        const candidate = path.join(dir, relative);
        if (fs.existsSync(path.join(candidate, marker))) return candidate;
        if (path.dirname(dir) === dir) throw new Error(`${relative}/ not found above ${from}`);
    }
}

export const TEMPLATES_DIR = findTemplatesDir(__dirname, "templates", "haproxy.cfg.hbs");

/** Single-quote a value for POSIX sh. */
export function shellQuote(value: string | number): string {
    return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** Renders `<name>.hbs` of a folder with `data`; output is never HTML-escaped. */
export type TemplateRenderer = (name: string, data: object) => string;

/**
 * A renderer of the templates in `dir`. They may include the core's partials (`templates/_<name>.*.hbs`,
 * e.g. `{{> prelude}}`) and those of their own folder.
 */
export function templateRenderer(dir: string): TemplateRenderer {
    const hbs = Handlebars.create();
    hbs.registerHelper("shq", (value: string | number) => new Handlebars.SafeString(shellQuote(value)));
    hbs.registerHelper("eq", (a: unknown, b: unknown) => a === b);
    hbs.registerHelper("join", (items: unknown[], separator: unknown) => items.join(typeof separator === "string" ? separator : " "));
    for (const partialsDir of new Set([TEMPLATES_DIR, dir])) {
        for (const file of fs.readdirSync(partialsDir)) {
            if (file.startsWith("_") && file.endsWith(".hbs")) {
                hbs.registerPartial(file.slice(1).split(".")[0], fs.readFileSync(path.join(partialsDir, file), "utf8"));
            }
        }
    }
    const compiled = new Map<string, Handlebars.TemplateDelegate>();
    return (name, data) => {
        let template = compiled.get(name);
        if (!template) {
            const source = fs.readFileSync(path.join(dir, `${name}.hbs`), "utf8");
            template = hbs.compile(source, { noEscape: true, strict: true });
            compiled.set(name, template);
        }
        return template(data);
    };
}

/** Render `templates/<name>.hbs` (e.g. `haproxy.cfg`) with `data`. */
export const renderTemplate: TemplateRenderer = templateRenderer(TEMPLATES_DIR);
