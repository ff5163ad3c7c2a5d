import { lineItemList } from './checkout-session';
import { invalid } from './errors';
import { present, store, type Q, type StripeObject } from './store';

type Node = Record<string, unknown>;

/**
 * Stripe's expand[]: each dotted path replaces an id with the object it names
 * (e.g. payment_intent, payment_intent.latest_charge, data.source on lists), up to 4 levels.
 */
export async function expand(q: Q, root: Node, paths: string[]): Promise<Node> {
  const out = 'id' in root && '_sandbox' in root ? { ...present(root as StripeObject) } : root;
  for (const path of paths) {
    const segments = path.split('.');
    if (segments.length > 4) throw invalid(`You cannot expand more than 4 levels of a property. Property: ${path}`, 'expand');
    await walk(q, out, root, segments);
  }
  return out;
}

async function walk(q: Q, node: Node, raw: Node, [head, ...rest]: string[]): Promise<void> {
  if (head === 'data' && Array.isArray(node.data)) {
    for (const item of node.data as Node[]) if (rest.length) await walk(q, item, item, rest);
    return;
  }
  if (head === 'line_items' && node.object === 'checkout.session') {
    node.line_items = lineItemList(raw as StripeObject);
    return;
  }
  let value = node[head];
  if (typeof value === 'string') {
    const found = await store.get(q, value);
    if (found) value = node[head] = present(found);
  } else if (value === undefined || (value !== null && typeof value !== 'object')) {
    throw invalid(`This property cannot be expanded (${head}).`, 'expand');
  }
  if (rest.length && value && typeof value === 'object') await walk(q, value as Node, value as Node, rest);
}
