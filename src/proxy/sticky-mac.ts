/**
 * The HMAC behind sticky cookies and signed overrides: HMAC-SHA256 keyed with the store's
 * secret, base64url, truncated to MAC_LENGTH. Separate keys per use are derived from the
 * one secret so a cookie MAC can never be replayed as an override value.
 */
import { createHmac } from 'node:crypto'
import { MAC_LENGTH, type Mac } from '../routing/sticky-cookie.js'

/** Builds a MAC function for one purpose from a secret. The secret is not kept in a closure field visible to logs. */
export function hmacFor (secret: string, purpose: string): Mac {
  const key = createHmac('sha256', secret).update(`switchyard:${purpose}`).digest()
  return (payload: string) => createHmac('sha256', key).update(payload).digest('base64url').slice(0, MAC_LENGTH)
}
