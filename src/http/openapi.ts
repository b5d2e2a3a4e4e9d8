/**
 * The OpenAPI 3.1 description of /api/v1, served at GET /api/v1/openapi.json. Kept by hand next to
 * the routes; test/integration/api-openapi.test.ts makes real requests and validates each answer
 * against it, and fails when a route under /api/v1 is not described here.
 */

import { deliveryOutcomes } from '../core/model.js';

const nullable = (type: string) => ({ type: [type, 'null'] });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });
const error = (description: string) => json(ref('Error'), description);

/** Answers every authenticated route can give. */
const common = {
  '400': error('The query, path or body is not valid; `error` says which field and why.'),
  '401': error('No token, or an unknown, revoked or expired one.'),
  '403': error('The token may not do this: `needed` is the permission, `roles` the roles that have it.'),
  '503': error('The database is unavailable just now; try again after Retry-After seconds.'),
};

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
const limit = (max: number) => ({ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: max } });
const instant = (name: string, description: string) => ({ name, in: 'query', description, schema: { type: 'string', format: 'date-time' } });
const text = (name: string, description: string) => ({ name, in: 'query', description, schema: { type: 'string' } });
const operatorOnly = [{ operatorToken: [] }];
const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  description: 'A repeat with the same key answers what the first request made (header Idempotent-Replayed: true) and makes nothing new; the same key with another body is 409.',
  schema: { type: 'string' },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Deckhand REST API',
    version: '1',
    description:
      'Two kinds of bearer token: the run token a reaction script gets (DECKHAND_API_TOKEN: releases, deployments, messages, limited to what the reaction lists under api:), and operator tokens (deckhand token create --name ci --role deployers), which act as token:<name> with the permissions of one configured role.',
  },
  servers: [{ url: '/api/v1' }],
  components: {
    securitySchemes: {
      runToken: { type: 'http', scheme: 'bearer', description: 'DECKHAND_API_TOKEN of a reaction run (dh_...)' },
      operatorToken: { type: 'http', scheme: 'bearer', description: 'An operator token (dho_...) from deckhand token create' },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error'],
        properties: { error: { type: 'string' }, code: { type: 'string' }, needed: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } } },
      },
      Lock: {
        type: 'object',
        required: ['environment', 'app', 'holder', 'reason', 'since'],
        additionalProperties: false,
        properties: { environment: { type: 'string' }, app: nullable('string'), holder: { type: 'string' }, reason: nullable('string'), since: { type: 'string', format: 'date-time' } },
      },
      Deployment: {
        type: 'object',
        required: ['id', 'app', 'environment', 'ref', 'state', 'requestedBy', 'createdAt'],
        properties: {
          id: { type: 'integer' },
          app: { type: 'string' },
          environment: { type: 'string' },
          ref: { type: 'string' },
          state: { enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
          source: { type: 'string' },
          requestedBy: { type: 'string' },
          createdAt: { type: 'string', format: 'date-time' },
          startedAt: nullable('string'),
          finishedAt: nullable('string'),
          reason: nullable('string'),
        },
      },
      Release: {
        type: 'object',
        required: ['id', 'app', 'version', 'createdBy', 'createdAt'],
        properties: { id: { type: 'integer' }, app: { type: 'string' }, version: { type: 'string' }, notes: nullable('string'), createdBy: { type: 'string' }, createdAt: { type: 'string', format: 'date-time' } },
      },
      JobSummary: {
        type: ['object', 'null'],
        required: ['id', 'type', 'state', 'attempts', 'lastError', 'finishedAt'],
        additionalProperties: false,
        properties: {
          id: { type: 'integer' },
          type: { type: 'string' },
          state: { enum: ['pending', 'running', 'done', 'dead'] },
          attempts: { type: 'integer' },
          lastError: nullable('string'),
          finishedAt: nullable('string'),
        },
      },
      DeliverySummary: {
        type: 'object',
        required: ['id', 'source', 'deliveryId', 'receivedAt', 'contentType', 'outcome', 'job', 'jobs'],
        additionalProperties: false,
        properties: {
          id: { type: 'integer' },
          source: { type: 'string', description: 'github, octopus, victorops, trigger:<name>' },
          deliveryId: { type: 'string', description: "The sender's delivery id" },
          receivedAt: { type: 'string', format: 'date-time' },
          contentType: { type: 'string' },
          outcome: { enum: [...deliveryOutcomes, 'unknown'], description: "The state of the delivery's newest job; ignored when it was done at intake (nothing acts on the delivery), unknown when retention deleted it" },
          job: ref('JobSummary'),
          jobs: { type: 'integer', description: 'How many jobs processed it (one, plus one per replay)' },
        },
      },
      DeliveryDetail: {
        type: 'object',
        required: ['id', 'source', 'deliveryId', 'receivedAt', 'contentType', 'headers', 'query', 'body', 'summary'],
        additionalProperties: false,
        properties: {
          id: { type: 'integer' },
          source: { type: 'string' },
          deliveryId: { type: 'string' },
          receivedAt: { type: 'string', format: 'date-time' },
          contentType: { type: 'string' },
          headers: { type: 'object', additionalProperties: { type: 'string' } },
          query: { type: 'object', additionalProperties: { type: 'string' } },
          body: { description: 'The parsed body as stored, secret values and secret-looking keys masked as ***' },
          summary: ref('DeliverySummary'),
        },
      },
      Job: {
        type: 'object',
        required: ['id', 'type', 'key', 'payload', 'state', 'attempts', 'maxAttempts', 'runAt', 'leaseOwner', 'leaseExpiresAt', 'lastError', 'createdAt', 'finishedAt'],
        additionalProperties: false,
        properties: {
          id: { type: 'integer' },
          type: { type: 'string' },
          key: nullable('string'),
          payload: { description: 'secrets masked' },
          state: { enum: ['pending', 'running', 'done', 'dead'] },
          attempts: { type: 'integer' },
          maxAttempts: { type: 'integer' },
          runAt: { type: 'string', format: 'date-time' },
          leaseOwner: nullable('string'),
          leaseExpiresAt: nullable('string'),
          lastError: nullable('string'),
          createdAt: { type: 'string', format: 'date-time' },
          finishedAt: nullable('string'),
        },
      },
      AuditRecord: {
        type: 'object',
        required: ['id', 'at', 'actor', 'action', 'target', 'outcome', 'details', 'app', 'environment'],
        additionalProperties: false,
        properties: {
          id: { type: 'integer' },
          at: { type: 'string', format: 'date-time' },
          actor: { type: 'string' },
          action: { type: 'string' },
          target: { type: 'string' },
          outcome: { enum: ['ok', 'denied', 'failed'] },
          details: { type: 'object' },
          app: nullable('string'),
          environment: nullable('string'),
        },
      },
    },
  },
  security: [{ runToken: [] }, { operatorToken: [] }],
  paths: {
    '/openapi.json': {
      get: { summary: 'This description', security: [], responses: { '200': json({ type: 'object', required: ['openapi', 'paths'] }, 'The OpenAPI 3.1 document') } },
    },
    '/releases': {
      post: {
        summary: 'Create a release (release:<app>)',
        parameters: [idempotencyKey],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['app', 'version'], properties: { app: { type: 'string' }, version: { type: 'string' }, notes: { type: 'string' }, packages: { type: 'object', additionalProperties: { type: 'string' } } } } } } },
        responses: { '201': json({ type: 'object', required: ['release'], properties: { release: ref('Release') } }, 'Created'), '404': error('Unknown app'), '409': error('That version exists'), ...common },
      },
    },
    '/deployments': {
      post: {
        summary: 'Start a deployment (deploy:<environment>)',
        parameters: [idempotencyKey],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['app'], properties: { app: { type: 'string' }, ref: { type: 'string' }, environment: { type: 'string' }, dryRun: { type: 'boolean' } } } } } },
        responses: { '202': json({ type: 'object', required: ['deployment'], properties: { deployment: ref('Deployment') } }, 'Queued'), '404': error('Unknown app or environment'), '409': error('Locked'), ...common },
      },
      get: {
        summary: "An app's recent deployments (a run token's read scope; an operator token needs read:deployments)",
        parameters: [{ ...text('app', 'The app'), required: true }, text('environment', 'Only this environment'), limit(100)],
        responses: { '200': json({ type: 'object', required: ['app', 'environment', 'deployments'], properties: { app: { type: 'string' }, environment: nullable('string'), deployments: { type: 'array', items: ref('Deployment') } } }, 'Newest first'), '404': error('Unknown app or environment'), ...common },
      },
    },
    '/messages': {
      post: {
        summary: 'Post a chat message (a run token\'s message scope; an operator token needs operate:messages)',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['channel', 'text'], properties: { channel: { type: 'string' }, text: { type: 'string', maxLength: 4000 }, thread: { type: 'string' } } } } } },
        responses: { '202': json({ type: 'object', required: ['status'], properties: { status: { const: 'queued' } } }, 'Queued'), '409': error('No chat adapter runs'), ...common },
      },
    },
    '/deliveries': {
      get: {
        summary: 'Webhook deliveries, newest first, with the outcome of their processing (read:deliveries)',
        security: operatorOnly,
        parameters: [
          text('source', 'github, octopus, victorops or trigger:<name>'),
          { name: 'outcome', in: 'query', schema: { enum: [...deliveryOutcomes] } },
          { name: 'failed', in: 'query', description: 'true: outcome=dead', schema: { enum: ['true', 'false', '1', '0', ''] } },
          instant('since', 'Received at or after'),
          limit(500),
          { name: 'cursor', in: 'query', description: '`next` of the previous page', schema: { type: 'integer', minimum: 1 } },
        ],
        responses: { '200': json({ type: 'object', required: ['deliveries', 'next'], additionalProperties: false, properties: { deliveries: { type: 'array', items: ref('DeliverySummary') }, next: nullable('integer') } }, 'A page'), ...common },
      },
    },
    '/deliveries/{id}': {
      get: {
        summary: 'One delivery with its headers, query and body, secrets masked (read:deliveries)',
        security: operatorOnly,
        parameters: [idParam],
        responses: { '200': json(ref('DeliveryDetail'), 'The delivery'), '404': error('No such delivery'), ...common },
      },
    },
    '/deliveries/{id}/replay': {
      post: {
        summary: 'Process the stored delivery again as a new job (operate:deliveries; audited)',
        security: operatorOnly,
        parameters: [idParam],
        responses: {
          '202': json({ type: 'object', required: ['delivery', 'job'], additionalProperties: false, properties: { delivery: ref('DeliverySummary'), job: ref('Job') } }, 'Queued'),
          '404': error('No such delivery'),
          '409': error('It is being processed, or no job of it is left'),
          ...common,
        },
      },
    },
    '/jobs': {
      get: {
        summary: 'Jobs, newest first (read:jobs)',
        security: operatorOnly,
        parameters: [{ name: 'state', in: 'query', schema: { enum: ['pending', 'running', 'done', 'dead'] } }, text('type', 'delivery, reaction, tick, github, ...'), limit(500)],
        responses: { '200': json({ type: 'object', required: ['jobs'], additionalProperties: false, properties: { jobs: { type: 'array', items: ref('Job') } } }, 'Jobs'), ...common },
      },
    },
    '/jobs/{id}/retry': {
      post: {
        summary: 'Run a dead job once more (operate:jobs; audited)',
        security: operatorOnly,
        parameters: [idParam],
        responses: { '202': json({ type: 'object', required: ['job'], additionalProperties: false, properties: { job: ref('Job') } }, 'Pending again'), '404': error('No such job'), '409': error('The job is not dead'), ...common },
      },
    },
    '/audit': {
      get: {
        summary: 'The audit log, newest first (read:audit)',
        security: operatorOnly,
        parameters: [
          text('actor', 'e.g. U024BE7LH, shell:alice, token:ci'),
          text('action', 'deploy, lock, unlock, release.create, approval.grant, delivery.replay, job.retry, ...'),
          text('app', 'The app'),
          text('environment', 'The environment'),
          instant('since', 'At or after'),
          instant('until', 'Before'),
          limit(500),
          { name: 'before', in: 'query', description: '`next` of the previous page', schema: { type: 'integer', minimum: 1 } },
        ],
        responses: { '200': json({ type: 'object', required: ['records', 'next'], additionalProperties: false, properties: { records: { type: 'array', items: ref('AuditRecord') }, next: nullable('integer') } }, 'A page'), ...common },
      },
    },
    '/locks': {
      get: {
        summary: 'Every lock',
        security: operatorOnly,
        responses: { '200': json({ type: 'object', required: ['locks'], additionalProperties: false, properties: { locks: { type: 'array', items: ref('Lock') } } }, 'Locks'), ...common },
      },
      post: {
        summary: 'Lock an environment, or one app in it (lock:<environment>; takeover: audited)',
        security: operatorOnly,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['environment'], additionalProperties: false, properties: { environment: { type: 'string' }, app: { type: 'string' }, reason: { type: 'string', maxLength: 500 }, takeover: { type: 'boolean' } } } } },
        },
        responses: { '201': json({ type: 'object', required: ['lock', 'previous'], additionalProperties: false, properties: { lock: ref('Lock'), previous: { oneOf: [ref('Lock'), { type: 'null' }] } } }, 'Locked'), '404': error('Unknown app or environment'), '409': error('Someone else holds it (use takeover)'), ...common },
      },
    },
    '/locks/{environment}': {
      delete: {
        summary: 'Release the environment-wide lock (lock:<environment>)',
        security: operatorOnly,
        parameters: [{ name: 'environment', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': json({ type: 'object', required: ['lock'], additionalProperties: false, properties: { lock: ref('Lock') } }, 'Released'), '404': error('Unknown environment'), '409': error('Not locked'), ...common },
      },
    },
    '/locks/{environment}/{app}': {
      delete: {
        summary: "Release an app's lock in an environment (lock:<environment>)",
        security: operatorOnly,
        parameters: [
          { name: 'environment', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'app', in: 'path', required: true, schema: { type: 'string' } },
        ],
        responses: { '200': json({ type: 'object', required: ['lock'], additionalProperties: false, properties: { lock: ref('Lock') } }, 'Released'), '404': error('Unknown app or environment'), '409': error('Not locked'), ...common },
      },
    },
  },
} as const;
