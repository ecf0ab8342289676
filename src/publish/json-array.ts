/** The input does not have the shape of one JSON array (a truncated file, text after the closing bracket). */
export class JsonArrayShapeError extends Error {
    constructor(message: string) {
        super(message);
        this.name = 'JsonArrayShapeError';
    }
}

/**
 * Split a streamed JSON array into the text of its top-level elements without parsing the whole document,
 * so a file of a million aggregates is read in flat memory. Tracks nesting depth, strings and escapes so
 * brackets, braces and commas inside string values never split an element. The element text is yielded as
 * written (its validity as JSON is the caller's concern, reported per element); only the array's own
 * shape is checked here.
 */
export async function* splitJsonArray(chunks: AsyncIterable<string>): AsyncGenerator<string> {
    let started = false;
    let ended = false;
    let depth = 0;
    let inString = false;
    let escaped = false;
    let element: string[] = [];
    let pending = false; // the current element has a non-space character
    let sawComma = false;

    const take = (): string => {
        const text = element.join('').trim();
        element = [];
        pending = false;
        return text;
    };

    for await (const chunk of chunks) {
        let from = 0;
        for (let i = 0; i < chunk.length; i++) {
            const c = chunk.charCodeAt(i);
            if (!started || ended) {
                if (isSpace(c) || c === 0xfeff) continue;
                if (!started && c === 0x5b /* [ */) {
                    started = true;
                    from = i + 1;
                    continue;
                }
                throw new JsonArrayShapeError(ended ? 'unexpected text after the closing ] of the JSON array' : 'input does not start with [');
            }
            if (inString) {
                if (escaped) escaped = false;
                else if (c === 0x5c /* \ */) escaped = true;
                else if (c === 0x22 /* " */) inString = false;
                continue;
            }
            if (c === 0x22) {
                inString = true;
                pending = true;
            } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
                depth++;
                pending = true;
            } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
                if (depth > 0) {
                    depth--;
                } else if (c === 0x5d) {
                    element.push(chunk.slice(from, i));
                    const text = take();
                    if (text) yield text;
                    else if (sawComma) throw new JsonArrayShapeError('trailing comma before the closing ] of the JSON array');
                    ended = true;
                    continue;
                } else {
                    throw new JsonArrayShapeError('unbalanced } in the JSON array');
                }
            } else if (c === 0x2c /* , */ && depth === 0) {
                element.push(chunk.slice(from, i));
                from = i + 1;
                const text = take();
                if (!text) throw new JsonArrayShapeError('empty element (two commas in a row) in the JSON array');
                sawComma = true;
                yield text;
                continue;
            } else if (!isSpace(c)) {
                pending = true;
            }
        }
        if (started && !ended) element.push(chunk.slice(from));
        // Keep memory flat even for whitespace-heavy input between elements.
        if (!pending && element.length > 0) element = [];
    }
    if (!started) throw new JsonArrayShapeError('input is empty');
    if (!ended) throw new JsonArrayShapeError('the JSON array is not closed (truncated input?)');
}

function isSpace(c: number): boolean {
    return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
