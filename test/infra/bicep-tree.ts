/**
 * Offline reading of Bicep with tree-sitter: no Bicep compiler can run without a download, so syntax is
 * checked by the grammar and invariants are asserted on the syntax tree.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import Parser from 'tree-sitter';
import Bicep from 'tree-sitter-bicep';

export type SyntaxNode = Parser.SyntaxNode;

export interface BicepFile {
    /** Path relative to the repository root, with forward slashes. */
    readonly name: string;
    readonly source: string;
    readonly root: SyntaxNode;
    /** `extension <name>` declarations, which tree-sitter-bicep 1.1.0 predates (it knows only `import`/`provider`). */
    readonly extensions: readonly string[];
}

const parser = new Parser();
parser.setLanguage(Bicep as unknown as Parser.Language);

const extensionLine = /^extension\s+([A-Za-z_]\w*)\s*$/gm;

/** Parse Bicep text. An `extension <name>` line is rewritten to the grammar's `import '<name>'`, keeping line numbers. */
export function parseBicep(name: string, source: string): BicepFile {
    const extensions: string[] = [];
    const masked = source.replace(extensionLine, (_line, id: string) => {
        extensions.push(id);
        return `import '${id}'`;
    });
    return { name, source, root: parser.parse(masked).rootNode, extensions };
}

export function readBicepFiles(repoRoot: string, dir: string): BicepFile[] {
    const out: BicepFile[] = [];
    const walk = (abs: string): void => {
        for (const entry of readdirSync(abs, { withFileTypes: true })) {
            const full = path.join(abs, entry.name);
            if (entry.isDirectory()) walk(full);
            else if (entry.name.endsWith('.bicep')) {
                out.push(parseBicep(path.relative(repoRoot, full).split(path.sep).join('/'), readFileSync(full, 'utf8')));
            }
        }
    };
    walk(path.join(repoRoot, dir));
    return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Every ERROR or MISSING node as `file:line:column kind 'text'`. */
export function syntaxProblems(file: BicepFile): string[] {
    const problems: string[] = [];
    const visit = (node: SyntaxNode): void => {
        if (node.type === 'ERROR' || node.isMissing) {
            const where = `${file.name}:${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
            problems.push(`${where} ${node.isMissing ? `MISSING ${node.type}` : 'ERROR'} '${node.text.slice(0, 60)}'`);
        }
        for (const child of node.children) visit(child);
    };
    visit(file.root);
    return problems;
}

export function descendants(node: SyntaxNode, type: string): SyntaxNode[] {
    return node.descendantsOfType(type);
}

/** The key of an object property, whether written as an identifier or a quoted string. */
export function propertyKey(prop: SyntaxNode): string {
    const key = prop.namedChildren[0]!;
    return key.type === 'string' ? stringValue(key)! : key.text;
}

/** Value node of `key:` directly inside an object node. */
export function property(object: SyntaxNode | undefined, key: string): SyntaxNode | undefined {
    const prop = object?.namedChildren.find((c) => c.type === 'object_property' && propertyKey(c) === key);
    return prop?.namedChildren[prop.namedChildren.length - 1];
}

/** Follow `a.b.c` through nested objects. */
export function propertyPath(object: SyntaxNode | undefined, dotted: string): SyntaxNode | undefined {
    return dotted.split('.').reduce<SyntaxNode | undefined>((node, key) => property(node, key), object);
}

/** Content of a plain string literal (no interpolation); undefined for anything else. */
export function stringValue(node: SyntaxNode | undefined): string | undefined {
    if (node?.type !== 'string' || node.namedChildren.some((c) => c.type === 'interpolation')) return undefined;
    return node.text.slice(1, -1);
}

export interface Declaration {
    readonly file: BicepFile;
    readonly symbol: string;
    /** Resource type with API version, or module path. */
    readonly target: string;
    /** The body object, looking through `if (…)` and `for … :`. */
    readonly body: SyntaxNode | undefined;
    readonly conditional: boolean;
    readonly existing: boolean;
    readonly node: SyntaxNode;
}

function bodyOf(node: SyntaxNode | null | undefined): SyntaxNode | undefined {
    if (!node) return undefined;
    if (node.type === 'object') return node;
    if (node.type === 'for_statement') return bodyOf(node.childForFieldName('body'));
    if (node.type === 'if_statement') return node.namedChildren.find((c) => c.type === 'object');
    // A declaration: the body follows `=`.
    return bodyOf(node.namedChildren.find((c) => ['object', 'if_statement', 'for_statement'].includes(c.type)));
}

function declarationsOf(file: BicepFile, type: 'resource_declaration' | 'module_declaration'): Declaration[] {
    return descendants(file.root, type).map((node) => ({
        file,
        symbol: node.namedChildren[0]!.text,
        target: stringValue(node.namedChildren[1]) ?? '',
        body: bodyOf(node),
        conditional: node.namedChildren.some(
            (c) => c.type === 'if_statement' || (c.type === 'for_statement' && c.childForFieldName('body')?.type === 'if_statement'),
        ),
        existing: node.children.some((c) => c.type === 'existing'),
        node,
    }));
}

export const resources = (file: BicepFile): Declaration[] => declarationsOf(file, 'resource_declaration');
export const modules = (file: BicepFile): Declaration[] => declarationsOf(file, 'module_declaration');

/** Top-level `name: value` declarations of one kind, e.g. variables or outputs. */
export function topLevel(file: BicepFile, type: 'variable_declaration' | 'output_declaration' | 'parameter_declaration'): Map<string, SyntaxNode> {
    const out = new Map<string, SyntaxNode>();
    for (const node of file.root.namedChildren.filter((c) => c.type === type)) out.set(node.namedChildren[0]!.text, node);
    return out;
}

/** Decorator calls (`@minValue(40)` → ['minValue', argNodes]) written just above a declaration. */
export function decoratorsOf(declaration: SyntaxNode): Map<string, SyntaxNode[]> {
    const out = new Map<string, SyntaxNode[]>();
    const previous = declaration.previousNamedSibling;
    if (previous?.type !== 'decorators') return out;
    for (const call of previous.namedChildren.map((d) => d.namedChildren[0]!)) {
        const fn = call.childForFieldName('function')?.text ?? '';
        const args = call.childForFieldName('arguments')?.namedChildren ?? [];
        out.set(fn, args);
    }
    return out;
}

/**
 * Resolve an expression to a string when it is a literal, a variable holding one, a member of an object
 * variable (`roleIds.dataReceiver`), or a call such as `subscriptionResourceId(…, <that>)` (its last argument).
 */
export function resolveString(file: BicepFile, node: SyntaxNode | undefined): string | undefined {
    if (!node) return undefined;
    const literal = stringValue(node);
    if (literal !== undefined) return literal;
    const variables = topLevel(file, 'variable_declaration');
    const valueOf = (name: string) => variables.get(name)?.namedChildren[1];
    if (node.type === 'identifier') return resolveString(file, valueOf(node.text));
    if (node.type === 'member_expression') {
        const object = node.childForFieldName('object');
        const prop = node.childForFieldName('property')?.text;
        if (object?.type === 'identifier' && prop) return resolveString(file, property(valueOf(object.text), prop));
    }
    if (node.type === 'call_expression') {
        const args = node.childForFieldName('arguments')?.namedChildren ?? [];
        return resolveString(file, args[args.length - 1]);
    }
    return undefined;
}
