// The widget's pure decisions, in Node: which addresses the offline form takes.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { EMAIL_CHARS_MAX, emailProblem } from '../public/widget/offline.js';

describe('the offline form\'s email check', () => {
  it('takes addresses a mail server would, and names what is wrong with others', () => {
    const cases = [
      ['ann@example.com', ''],
      ['ann.o\'neil+shop@mail.example.co.uk', ''],
      ['jo@xn--mnchen-3ya.de', ''],
      ['jo@münchen.de', ''],
      ['', 'offlineEmailMissing'],
      ['ann@example', 'offlineEmailInvalid'], // no dot: a typo far more often than not
      ['ann.example.com', 'offlineEmailInvalid'],
      ['ann@@example.com', 'offlineEmailInvalid'],
      ['ann @example.com', 'offlineEmailInvalid'],
      ['ann@example..com', 'offlineEmailInvalid'],
      ['ann@-example.com', 'offlineEmailInvalid'],
      ['ann@example.com.', 'offlineEmailInvalid'],
      ['<ann@example.com>', 'offlineEmailInvalid'],
      [`${'a'.repeat(EMAIL_CHARS_MAX - '@example.com'.length)}@example.com`, ''],
      [`${'a'.repeat(EMAIL_CHARS_MAX - '@example.com'.length + 1)}@example.com`, 'offlineEmailInvalid'],
    ];
    for (const [email, problem] of cases) assert.equal(emailProblem(email), problem, email);
  });
});
