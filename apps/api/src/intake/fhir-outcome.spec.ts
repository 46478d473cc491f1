import { outcomeFromErrorBody } from './fhir-outcome';

describe('outcomeFromErrorBody: the API error shape as an OperationOutcome', () => {
  it('turns each detail into an issue naming the element; "(body)" is the Bundle', () => {
    expect(outcomeFromErrorBody(400, 'The request body is not valid JSON', [{ field: '(body)', reason: 'is not valid JSON' }])).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'structure', diagnostics: 'The request body is not valid JSON', expression: ['Bundle'] }],
    });
    expect(outcomeFromErrorBody(413, 'The request body is too large', [{ field: '(body)', reason: 'is larger than the body limit (BODY_LIMIT_BYTES)' }]).issue[0]).toMatchObject({
      code: 'too-long',
      expression: ['Bundle'],
    });
  });

  it('names no element for request-level failures, and picks the issue type by status', () => {
    const media = outcomeFromErrorBody(415, 'Unsupported content type', [{ field: 'content-type', reason: 'must be application/json' }]).issue[0];
    expect(media).toEqual({ severity: 'error', code: 'not-supported', diagnostics: 'Unsupported content type: content-type must be application/json' });
    expect(outcomeFromErrorBody(401, 'A bearer token is required', undefined).issue).toEqual([{ severity: 'error', code: 'login', diagnostics: 'A bearer token is required' }]);
    expect(outcomeFromErrorBody(429, 'Too many requests', undefined).issue[0].code).toBe('throttled');
    expect(outcomeFromErrorBody(503, 'The service is temporarily unavailable', undefined).issue[0]).toMatchObject({ severity: 'error', code: 'transient' });
    expect(outcomeFromErrorBody(500, 'Internal server error', undefined).issue[0]).toMatchObject({ severity: 'fatal', code: 'exception' });
  });
});
