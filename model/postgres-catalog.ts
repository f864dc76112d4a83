/**
 * PostgreSQL's own parameter catalog, per major version, and the checks PostgreSQL makes on a
 * parameter's value when it reads postgresql.conf — so that `patroni.parameters` is refused at
 * preview, naming the setting, the value and PostgreSQL's own message, before any host is touched.
 *
 * The catalogs are generated from the real servers by tools/postgres-catalog.sh (pg_settings of
 * Debian's postgresql-13/15/17/18; no Debian release ships 14 or 16). The value rules follow
 * PostgreSQL's GUC parser (src/backend/utils/misc/guc.c: parse_bool, parse_int, parse_real,
 * convert_to_base_unit, config_enum_lookup_by_name); test/postgres-catalog.test.ts compares them
 * with the real server's verdict (`postgres -C`).
 */
import catalog13 from "./postgres-catalog/13.json";
import catalog15 from "./postgres-catalog/15.json";
import catalog17 from "./postgres-catalog/17.json";
import catalog18 from "./postgres-catalog/18.json";

export interface PostgresParameter {
    name: string;
    type: "bool" | "integer" | "real" | "string" | "enum";
    /** The base unit of an integer or real parameter (pg_settings.unit), e.g. "kB", "8kB", "ms". */
    unit: string | null;
    min: string | null;
    max: string | null;
    /** The values pg_settings lists for an enum. */
    enum: string[] | null;
    /** When a change takes effect (pg_settings.context): "postmaster" needs a restart, "internal" never changes. */
    context: string;
    /** Spellings PostgreSQL also accepts for an enum, with the value each stands for (probed with `postgres -C`). */
    aliases?: Record<string, string>;
    /** Listed values (on/off for a bool) this build refuses in a check hook, with its message, e.g. bonjour "on". */
    refused?: Record<string, string>;
}

export interface PostgresCatalog {
    /** The server the catalog came from, e.g. "17.6 (Debian 17.6-0+deb13u1)". */
    version: string;
    parameters: PostgresParameter[];
}

/** The generated catalogs, by major version. */
export const POSTGRES_CATALOGS: Record<number, PostgresCatalog> = {
    13: catalog13 as PostgresCatalog,
    15: catalog15 as PostgresCatalog,
    17: catalog17 as PostgresCatalog,
    18: catalog18 as PostgresCatalog,
};

const indexes = new Map<PostgresCatalog, Map<string, PostgresParameter>>();
/** A parameter by name; PostgreSQL's names are case-insensitive. */
export function lookupParameter(catalog: PostgresCatalog, name: string): PostgresParameter | undefined {
    let index = indexes.get(catalog);
    if (!index) {
        index = new Map(catalog.parameters.map((p) => [p.name.toLowerCase(), p]));
        indexes.set(catalog, index);
    }
    return index.get(name.toLowerCase());
}

/**
 * The catalogs that speak for a version: its own, or — for a version none was generated for — the
 * nearest older and newer ones (a parameter is unknown only when both lack it, a value wrong only
 * when both refuse it).
 */
export function catalogsFor(version: number): { exact: boolean; catalogs: PostgresCatalog[] } {
    const own = POSTGRES_CATALOGS[version];
    if (own) return { exact: true, catalogs: [own] };
    const versions = Object.keys(POSTGRES_CATALOGS).map(Number).sort((a, b) => a - b);
    const older = versions.filter((v) => v < version).pop();
    const newer = versions.find((v) => v > version);
    return { exact: false, catalogs: [older, newer].flatMap((v) => (v === undefined ? [] : [POSTGRES_CATALOGS[v]])) };
}

/** What `postgresql.conf` gets for a value as Patroni writes it: booleans as on/off, numbers as text. */
export function asConfValue(value: string | number | boolean): string {
    return typeof value === "boolean" ? (value ? "on" : "off") : String(value);
}

// Units, largest first, in bytes and in milliseconds (guc.c memory/time_unit_conversion_table).
const MEMORY_UNITS: Array<[string, number]> = [["TB", 1024 ** 4], ["GB", 1024 ** 3], ["MB", 1024 ** 2], ["kB", 1024], ["B", 1]];
const TIME_UNITS: Array<[string, number]> = [["d", 86_400_000], ["h", 3_600_000], ["min", 60_000], ["s", 1000], ["ms", 1], ["us", 0.001]];
const BASE_UNITS: Record<string, { table: Array<[string, number]>; size: number }> = {
    B: { table: MEMORY_UNITS, size: 1 },
    kB: { table: MEMORY_UNITS, size: 1024 },
    "8kB": { table: MEMORY_UNITS, size: 8192 },
    MB: { table: MEMORY_UNITS, size: 1024 ** 2 },
    ms: { table: TIME_UNITS, size: 1 },
    s: { table: TIME_UNITS, size: 1000 },
    min: { table: TIME_UNITS, size: 60_000 },
};
const INT_MAX = 2 ** 31 - 1;
const INT_MIN = -(2 ** 31);

/** The units a value of this base unit may be written in, smallest first. */
export function unitNames(baseUnit: string): string[] {
    return BASE_UNITS[baseUnit].table.map(([u]) => u).reverse();
}

/** PostgreSQL's hint listing a base unit's units, as guc.c words it. */
function unitsHint(baseUnit: string): string {
    const quoted = unitNames(baseUnit).map((u) => `"${u}"`);
    return `Valid units for this parameter are ${quoted.slice(0, -1).join(", ")}, and ${quoted[quoted.length - 1]}.`;
}

/** A value with a unit in the parameter's base unit (convert_to_base_unit), or undefined for a unit it does not take. */
function toBaseUnit(value: number, unitText: string, baseUnit: string): number | undefined {
    const unit = unitText.trimEnd();
    if (/\s/.test(unit)) return undefined;
    const { table, size } = BASE_UNITS[baseUnit];
    const i = table.findIndex(([u]) => u === unit);
    if (i < 0) return undefined;
    let converted = (value * table[i][1]) / size;
    // A fractional value such as "30.1GB" is rounded to a multiple of the next smaller unit.
    if (i + 1 < table.length) {
        const next = table[i + 1][1] / size;
        converted = Math.round(converted / next) * next;
    }
    return converted;
}

/** C's strtod prefix of a text (decimal, hexadecimal, inf, nan): the number and the rest, or undefined. */
function strtod(text: string): { value: number; rest: string } | undefined {
    const hex = /^\s*([+-]?)0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?/i.exec(text);
    if (hex && (hex[2] || hex[3])) {
        const fraction = [...(hex[3] ?? "")].reduce((sum, d, k) => sum + parseInt(d, 16) / 16 ** (k + 1), 0);
        const value = (parseInt(hex[2] || "0", 16) + fraction) * 2 ** Number(hex[4] ?? 0);
        return { value: hex[1] === "-" ? -value : value, rest: text.slice(hex[0].length) };
    }
    const m = /^\s*([+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan))/i.exec(text);
    if (!m) return undefined;
    const literal = m[1].toLowerCase().replace(/^([+-]?)inf(inity)?$/, "$1Infinity");
    return { value: literal.endsWith("nan") ? NaN : Number(literal), rest: text.slice(m[0].length) };
}

/** C's strtol(…, 0) prefix: decimal, 0x hexadecimal or 0 octal. */
function strtol(text: string): { value: number; rest: string } | undefined {
    const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)/.exec(text);
    if (!m) return undefined;
    const digits = m[2];
    const magnitude = /^0[xX]/.test(digits) ? parseInt(digits.slice(2), 16) : digits.length > 1 && digits.startsWith("0") ? parseInt(digits.slice(1), 8) : Number(digits);
    return { value: m[1] === "-" ? -magnitude : magnitude, rest: text.slice(m[0].length) };
}

/** PostgreSQL's refusal of a value, as it would log it, or undefined when it accepts it. */
export function checkParameterValue(p: PostgresParameter, raw: string | number | boolean): { message: string; hint?: string } | undefined {
    const value = asConfValue(raw);
    const invalid = (hint?: string) => ({ message: `invalid value for parameter "${p.name}": "${value}"`, ...(hint ? { hint } : {}) });
    if (p.context === "internal") return { message: `parameter "${p.name}" cannot be changed` };
    switch (p.type) {
        case "string":
            return undefined;
        case "bool": {
            const parsed = parseBool(value);
            if (parsed === undefined) return { message: `parameter "${p.name}" requires a Boolean value` };
            const refusal = p.refused?.[parsed ? "on" : "off"];
            return refusal ? { message: refusal } : undefined;
        }
        case "enum": {
            const lower = value.toLowerCase();
            const refusal = Object.entries(p.refused ?? {}).find(([v]) => v.toLowerCase() === lower)?.[1];
            if (refusal) return { message: refusal };
            const known = (p.enum ?? []).some((e) => e.toLowerCase() === lower) || Object.keys(p.aliases ?? {}).some((a) => a.toLowerCase() === lower);
            return known ? undefined : invalid(`Available values: ${(p.enum ?? []).join(", ")}.`);
        }
        case "integer":
        case "real": {
            const integer = p.type === "integer";
            let parsed = integer ? strtol(value) : strtod(value);
            // parse_int reads "1.5" or "1e3" with strtod, then rounds.
            if (integer && parsed && /^[.eE]/.test(parsed.rest)) parsed = strtod(value);
            if (!parsed || (!integer && Number.isNaN(parsed.value))) return invalid();
            let number = parsed.value;
            const unit = parsed.rest.trimStart();
            if (unit !== "") {
                const converted = p.unit ? toBaseUnit(number, unit, p.unit) : undefined;
                if (converted === undefined) return invalid(p.unit ? unitsHint(p.unit) : undefined);
                number = converted;
            }
            if (integer) {
                number = Math.round(number);
                if (!(number <= INT_MAX && number >= INT_MIN)) return invalid("Value exceeds integer range.");
            }
            const min = Number(p.min);
            const max = Number(p.max);
            if (number < min || number > max || Number.isNaN(number)) {
                const u = p.unit ? ` ${p.unit}` : "";
                return { message: `${formatNumber(number, integer)}${u} is outside the valid range for parameter "${p.name}" (${formatNumber(min, integer)} .. ${formatNumber(max, integer)})` };
            }
            return undefined;
        }
    }
}

/** A number as PostgreSQL prints it in range messages: %d for integers, %g for reals. */
function formatNumber(n: number, integer: boolean): string {
    if (integer || n === 0 || !Number.isFinite(n)) return String(n);
    const exponent = Math.floor(Math.log10(Math.abs(n)));
    const trim = (digits: string) => digits.replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
    if (exponent < -4 || exponent >= 6) {
        const [mantissa, power] = n.toExponential(5).split("e");
        const sign = power.startsWith("-") ? "-" : "+";
        return `${trim(mantissa)}e${sign}${power.replace(/^[+-]/, "").padStart(2, "0")}`;
    }
    return trim(n.toPrecision(6));
}

/** parse_bool: on/off, true/false, yes/no, 1/0, and unique prefixes of the words, any case. */
export function parseBool(value: string): boolean | undefined {
    const v = value.toLowerCase();
    if (v === "") return undefined;
    const prefixOf = (word: string, minimum = 1) => v.length >= minimum && word.startsWith(v);
    if (prefixOf("true") || prefixOf("yes") || v === "1" || prefixOf("on", 2)) return true;
    if (prefixOf("false") || prefixOf("no") || v === "0" || prefixOf("off", 2)) return false;
    return undefined;
}
