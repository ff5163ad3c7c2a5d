import { invalid } from './errors';
import type { LineItem } from './objects';
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

/** expand[]=line_items: the list Stripe would return. */
export function lineItemList(session: StripeObject): Record<string, unknown> {
  const items = (session._sandbox?.line_items ?? []) as LineItem[];
  return {
    object: 'list',
    data: items.map((i, n) => ({
      id: `li_${session.id.slice(8, 30)}${n}`,
      object: 'item',
      amount_discount: 0,
      amount_subtotal: i.unit_amount * i.quantity,
      amount_tax: 0,
      amount_total: i.unit_amount * i.quantity,
      currency: i.currency,
      description: i.name,
      price: { object: 'price', currency: i.currency, unit_amount: i.unit_amount, type: 'one_time', product_data: { name: i.name } },
      quantity: i.quantity,
    })),
    has_more: false,
    url: `/v1/checkout/sessions/${session.id}/line_items`,
  };
}
