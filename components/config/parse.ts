/**
 * Parsers for config values as the engine passes them (strings), shared by every domain's settings.
 */

/** `true`/`false` (any case), else undefined. */
export function parseBoolean(text: string): boolean | undefined {
    const lower = text.trim().toLowerCase();
    return lower === "true" ? true : lower === "false" ? false : undefined;
}

/** A boolean config key: pushes `<key>: "<text>" — use true or false` when it is neither; false then. */
export function booleanKey(key: string, text: string, errors: string[]): boolean {
    const value = parseBoolean(text);
    if (value === undefined) {
        errors.push(`${key}: "${text}" — use true or false`);
    }
    return value === true;
}
