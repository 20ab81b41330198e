import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentWebSocketUrl } from '../../src/transport/url.ts';

const plain = { apiKey: 'k_12345678', keyInQuery: false };

test('appends /ws/agent, strips trailing slashes, never doubles the path', () => {
  assert.equal(agentWebSocketUrl('ws://hub:8080', plain), 'ws://hub:8080/ws/agent');
  assert.equal(agentWebSocketUrl('ws://hub:8080/', plain), 'ws://hub:8080/ws/agent');
  assert.equal(agentWebSocketUrl('wss://hub.example.com///', plain), 'wss://hub.example.com/ws/agent');
  assert.equal(agentWebSocketUrl('wss://hub.example.com/ws/agent', plain), 'wss://hub.example.com/ws/agent');
  assert.equal(agentWebSocketUrl('wss://hub.example.com/ws/agent/', plain), 'wss://hub.example.com/ws/agent');
  assert.equal(agentWebSocketUrl('wss://hub.example.com/tether', plain), 'wss://hub.example.com/tether/ws/agent');
  assert.equal(agentWebSocketUrl('https://hub.example.com', plain), 'wss://hub.example.com/ws/agent');
  assert.equal(agentWebSocketUrl('http://ws.agent.example', plain), 'ws://ws.agent.example/ws/agent');
});

test('the key goes in the query only when compat asks for it', () => {
  assert.equal(agentWebSocketUrl('ws://hub', plain).includes('api_key'), false);
  assert.equal(agentWebSocketUrl('ws://hub/', { apiKey: 'k_12345678', keyInQuery: true }), 'ws://hub/ws/agent?api_key=k_12345678');
});
