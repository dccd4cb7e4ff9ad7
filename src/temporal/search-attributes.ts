import type { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { status } from '@grpc/grpc-js';
// The proto package is CommonJS whose exports Node cannot list, so the namespace is read off its default export.
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.js';

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

const INDEXED_TYPE: Record<SearchAttributeType, proto.temporal.api.enums.v1.IndexedValueType> = {
  [SearchAttributeType.TEXT]: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.KEYWORD]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.INT]: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DOUBLE]: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  [SearchAttributeType.BOOL]: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  [SearchAttributeType.DATETIME]: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  [SearchAttributeType.KEYWORD_LIST]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Registers the project's search attributes where they are missing; existing ones are kept. The
 * time-skipping test server cannot list them, so there every attribute is added directly.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  let missing: readonly (typeof SEARCH_ATTRIBUTES)[number][] = SEARCH_ATTRIBUTES;
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const known = { ...existing.customAttributes, ...existing.systemAttributes };
    missing = SEARCH_ATTRIBUTES.filter((key) => !(key.name in known));
  } catch (error) {
    if ((error as { code?: number }).code !== status.UNIMPLEMENTED) throw error;
  }
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, INDEXED_TYPE[key.type]])),
  });
}
