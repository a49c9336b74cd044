/** Custom resources' Tables: additionalPrinterColumns, the JSONPath subset, cell types. */
import { describe, expect, it } from 'vitest';
import { customResourcePrinter, parseJsonPath, type PrinterColumn } from '../../../src/encode/table/custom-columns.js';
import { BUILTIN_RESOURCES, defineResource } from '../../../src/server/registry.js';
import { printerFor } from '../../../src/server/response-views.js';

const NOW = Date.parse('2024-05-10T12:00:00Z');

function col(name: string, type: PrinterColumn['type'], jsonPath: string): PrinterColumn {
  return { name, type, jsonPath, description: '', format: '', priority: 0 };
}

describe('the JSONPath subset', () => {
  it('parses .field chains, [N] indexes, [\'key\'] and escaped dots', () => {
    expect(parseJsonPath('.status.phase')).toEqual(['status', 'phase']);
    expect(parseJsonPath('.spec.containers[0].image')).toEqual(['spec', 'containers', 0, 'image']);
    expect(parseJsonPath(".metadata.labels['app.kubernetes.io/name']")).toEqual(['metadata', 'labels', 'app.kubernetes.io/name']);
    expect(parseJsonPath('.metadata.annotations.example\\.com/x')).toEqual(['metadata', 'annotations', 'example.com/x']);
  });
  it('refuses what it does not support, saying so', () => {
    expect(parseJsonPath('status.phase')).toMatch(/must start with/);
    expect(parseJsonPath('.spec.items[*].name')).toMatch(/not supported/);
    expect(parseJsonPath('.spec.items[?(@.a==1)]')).toMatch(/not supported/);
    expect(parseJsonPath('..name')).toMatch(/empty field name/);
    expect(parseJsonPath('.a[0')).toMatch(/unclosed/);
  });
});

describe('custom resource rows', () => {
  const object = { metadata: { name: 'w', creationTimestamp: '2024-05-10T11:58:00Z' }, spec: { replicas: 3.7, ratio: 2, on: true, tags: ['a', 'b'], when: 'nope' } };
  it('cells follow the column type; a path that finds nothing is null', () => {
    const printer = customResourcePrinter([
      col('Replicas', 'integer', '.spec.replicas'),
      col('Ratio', 'number', '.spec.ratio'),
      col('On', 'boolean', '.spec.on'),
      col('Tags', 'string', '.spec.tags'),
      col('First', 'string', '.spec.tags[0]'),
      col('Missing', 'string', '.status.phase'),
      col('Created', 'date', '.metadata.creationTimestamp'),
      col('When', 'date', '.spec.when'),
      col('Wrong', 'integer', '.spec.tags'),
    ]);
    expect(printer.row(object, NOW).cells).toEqual(['w', 3, 2, true, '["a","b"]', 'a', null, '2m', '<invalid>', null]);
    expect(printer.columns[0]).toMatchObject({ name: 'Name', format: 'name' });
  });
  it('without columns: NAME and AGE (apiextensions’ default)', () => {
    const printer = customResourcePrinter([]);
    expect(printer.columns.map((c) => [c.name, c.type])).toEqual([
      ['Name', 'string'],
      ['Age', 'date'],
    ]);
    expect(printer.row(object, NOW).cells).toEqual(['w', '2m']);
  });
  it('a built-in kind without a printer gets NAME and CREATED AT (kube’s default table)', () => {
    const printer = printerFor({ ...BUILTIN_RESOURCES[0]!, kind: 'LimitRange', plural: 'limitranges' });
    expect(printer.columns.map((c) => [c.name, c.type])).toEqual([
      ['Name', 'string'],
      ['Created At', 'date'],
    ]);
    expect(printer.row(object, NOW).cells).toEqual(['w', '2024-05-10T11:58:00Z']);
  });
});

describe('additionalPrinterColumns in the resources file', () => {
  const base = { group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true };
  it('are checked and kept', () => {
    const def = defineResource({ ...base, additionalPrinterColumns: [{ name: 'Phase', type: 'string', jsonPath: '.status.phase', priority: 1, description: 'the phase' }] });
    expect(def.printerColumns).toEqual([{ name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'the phase', format: '', priority: 1 }]);
  });
  it('a bad column fails the load naming the field', () => {
    expect(() => defineResource({ ...base, additionalPrinterColumns: [{ name: 'P', type: 'text', jsonPath: '.a' }] })).toThrow(/additionalPrinterColumns\[0\]\.type: must be one of/);
    expect(() => defineResource({ ...base, additionalPrinterColumns: [{ name: 'P', type: 'string', jsonPath: '.a[*]' }] })).toThrow(/additionalPrinterColumns\[0\]\.jsonPath: ".a\[\*\]" index \[\*\] is not supported/);
    expect(() => defineResource({ ...base, additionalPrinterColumns: [{ name: '', type: 'string', jsonPath: '.a' }] })).toThrow(/\.name: must be a non-empty string/);
    expect(() => defineResource({ ...base, additionalPrinterColumns: [{ name: 'P', type: 'string', jsonPath: '.a', priority: -1 }] })).toThrow(/\.priority/);
    expect(() => defineResource({ ...base, additionalPrinterColumns: [{ name: 'P', type: 'string', jsonPath: '.a', color: 'red' }] })).toThrow(/\.color: unknown field/);
    expect(() => defineResource({ ...base, additionalPrinterColumns: {} })).toThrow(/additionalPrinterColumns: must be an array/);
  });
});
