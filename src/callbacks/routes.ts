import Joi from 'joi';
import type { RouteDef } from '../http/route';
import { json, listOf, obj, ref } from '../http/schemas';
import { CALLBACK_TYPES } from './emit';
import { createEndpoint, getEndpoint, listEndpoints, rotateSecret, updateEndpoint, type EndpointChanges, type EndpointInput } from './endpoints';
import { getMessage, listMessages, MESSAGE_STATUSES, replayFailed, replayMessage, type MessageFilter } from './messages';

const ADMIN = ['admin'] as const;
const endpointIdParam = Joi.object({ endpointId: Joi.string().pattern(/^cbe_[A-Za-z0-9]{1,40}$/).required() });
const messageIdParam = Joi.object({ messageId: Joi.string().pattern(/^cbm_[A-Za-z0-9]{1,40}$/).required() });

const fields = {
  url: Joi.string().trim().max(2000),
  courtCodes: Joi.alternatives(Joi.array().items(Joi.string().max(10)).min(1).max(100).unique(), Joi.string().valid('all')),
  eventTypes: Joi.array().items(Joi.string().valid(...CALLBACK_TYPES)).min(1).unique(),
  description: Joi.string().trim().max(500).allow(''),
};
const createBody = Joi.object({ ...fields, url: fields.url.required(), courtCodes: fields.courtCodes.required(), eventTypes: fields.eventTypes.required(), enabled: Joi.boolean().default(true) });
const updateBody = Joi.object({ ...fields, enabled: Joi.boolean() }).min(1);
const page = { limit: Joi.number().integer().min(1).max(500).default(50), cursor: Joi.string().max(200) };

/** Admin routes for callback endpoints and messages. */
export function callbackRoutes(): RouteDef[] {
  return [
    {
      method: 'post', path: '/v1/callback-endpoints', summary: 'Register a callback endpoint; its signing secret is shown this once', tag: 'callbacks', access: ADMIN,
      body: createBody, shownOnce: ['secret'], responses: { 201: json('the endpoint, with `secret` (an Idempotency-Key replay: `secret` null)', ref('CallbackEndpoint')) },
      async write({ body, principal, config }, tx) {
        const endpoint = await createEndpoint(tx, config, principal, body as EndpointInput);
        return { status: 201, body: endpoint, headers: { location: `/v1/callback-endpoints/${endpoint.id}` } };
      },
    },
    {
      method: 'get', path: '/v1/callback-endpoints', summary: 'Callback endpoints, with delivery health', tag: 'callbacks', access: ADMIN,
      query: Joi.object({ enabled: Joi.boolean(), ...page }), responses: { 200: json('{ data: [endpoint], nextCursor }', listOf(ref('CallbackEndpoint'))) },
      async read({ db, principal, query }) {
        return { status: 200, body: await listEndpoints(db, principal, query as { enabled?: boolean; limit: number; cursor?: string }) };
      },
    },
    {
      method: 'get', path: '/v1/callback-endpoints/{endpointId}', summary: 'One callback endpoint, with delivery health', tag: 'callbacks', access: ADMIN,
      params: endpointIdParam, responses: { 200: json('the endpoint', ref('CallbackEndpoint')) },
      async read({ db, principal, params }) {
        return { status: 200, body: await getEndpoint(db, principal, params.endpointId) };
      },
    },
    {
      method: 'patch', path: '/v1/callback-endpoints/{endpointId}', summary: 'Change url, courts, event types, description, or enable/disable', tag: 'callbacks', access: ADMIN,
      params: endpointIdParam, body: updateBody, responses: { 200: json('the endpoint', ref('CallbackEndpoint')) },
      async write({ params, body, principal, config }, tx) {
        return { status: 200, body: await updateEndpoint(tx, config, principal, params.endpointId, body as EndpointChanges) };
      },
    },
    {
      method: 'post', path: '/v1/callback-endpoints/{endpointId}/rotate-secret', summary: 'New signing secret (shown once); the old one keeps signing during the overlap', tag: 'callbacks', access: ADMIN,
      params: endpointIdParam, shownOnce: ['secret'], responses: { 200: json('the endpoint, with `secret` (an Idempotency-Key replay: `secret` null) and `previousSecretsExpireAt`', ref('CallbackEndpoint')) },
      async write({ params, principal, config }, tx) {
        return { status: 200, body: await rotateSecret(tx, config, principal, params.endpointId) };
      },
    },
    {
      method: 'post', path: '/v1/callback-endpoints/{endpointId}/replay-failed', summary: 'Queue every dead message of the endpoint again', tag: 'callbacks', access: ADMIN,
      params: endpointIdParam, responses: { 200: json('{ endpointId, replayed }', obj({ endpointId: { type: 'string' }, replayed: { type: 'integer' } })) },
      async write({ params, principal }, tx) {
        return { status: 200, body: await replayFailed(tx, principal, params.endpointId) };
      },
    },
    {
      method: 'get', path: '/v1/callback-messages', summary: 'Callback messages by endpointId, status (pending, delivered, dead) and type', tag: 'callbacks', access: ADMIN,
      query: Joi.object({ endpointId: endpointIdParam.extract('endpointId').optional(), status: Joi.string().valid(...MESSAGE_STATUSES), type: Joi.string().valid(...CALLBACK_TYPES), ...page }),
      responses: { 200: json('{ data: [message], nextCursor }', listOf(ref('CallbackMessage'))) },
      async read({ db, principal, query }) {
        return { status: 200, body: await listMessages(db, principal, query as MessageFilter) };
      },
    },
    {
      method: 'get', path: '/v1/callback-messages/{messageId}', summary: 'One callback message, its body and every attempt', tag: 'callbacks', access: ADMIN,
      params: messageIdParam, responses: { 200: json('the message with `body` and `attempts`', ref('CallbackMessage')) },
      async read({ db, principal, params }) {
        return { status: 200, body: await getMessage(db, principal, params.messageId) };
      },
    },
    {
      method: 'post', path: '/v1/callback-messages/{messageId}/replay', summary: 'Send a delivered or dead message again now', tag: 'callbacks', access: ADMIN,
      params: messageIdParam, responses: { 200: json('the message, queued', ref('CallbackMessage')), 409: 'it is still queued' },
      async write({ params, principal }, tx) {
        return { status: 200, body: await replayMessage(tx, principal, params.messageId) };
      },
    },
  ];
}
