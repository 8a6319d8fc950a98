import { isAbsoluteUri } from '../../mappings/formats.ts'
import type { ValidationCause } from './api-error.ts'
import type { CustomAttributeConfig } from './config.ts'
import { CauseList, pointer } from './schema-check.ts'
import { emailCheck, phoneCheck, type PhoneValidation } from './string-formats.ts'
import { getCountries } from 'libphonenumber-js/max'

/**
 * Checks `custom_attributes` values against the project's configured attributes. Unknown keys are
 * ignored (Authgear drops them silently) and `null` means "remove", so neither is checked.
 */
export class CustomAttributeChecker {
  readonly #attributes: ReadonlyMap<string, CustomAttributeConfig>
  readonly #phone: (value: string) => string | undefined

  constructor(attributes: readonly CustomAttributeConfig[], phoneValidation: PhoneValidation) {
    this.#attributes = new Map(attributes.map((a) => [a.name, a]))
    this.#phone = phoneCheck(phoneValidation)
  }

  /** Whether `key` is a configured attribute. */
  known(key: string): boolean {
    return this.#attributes.has(key)
  }

  /** Causes for the configured keys of `values`. */
  check(values: Record<string, unknown>): ValidationCause[] {
    const list = new CauseList()
    for (const [key, value] of Object.entries(values)) {
      const attribute = this.#attributes.get(key)
      if (attribute === undefined || value === null) continue
      // Authgear validates the attribute map by itself, so causes are located within it: `/age`, not `/custom_attributes/age`.
      this.#checkOne(list, pointer('', key), attribute, value)
    }
    return list.causes
  }

  #checkOne(list: CauseList, at: string, attribute: CustomAttributeConfig, value: unknown): void {
    switch (attribute.type) {
      case 'boolean':
        list.type(at, value, ['boolean'])
        return
      case 'number':
      case 'integer':
        if (!list.type(at, value, [attribute.type]) || typeof value !== 'number') return
        if (attribute.minimum !== undefined && value < attribute.minimum) {
          list.add(at, 'minimum', { actual: value, expected: attribute.minimum })
        }
        if (attribute.maximum !== undefined && value > attribute.maximum) {
          list.add(at, 'maximum', { actual: value, expected: attribute.maximum })
        }
        return
      default:
        break
    }
    if (!list.type(at, value, ['string']) || typeof value !== 'string') return
    switch (attribute.type) {
      case 'string':
        list.minLength(at, value, 1)
        return
      case 'enum':
        list.enum(at, value, attribute.enum ?? [])
        return
      case 'email': {
        const error = emailCheck(value)
        if (error !== undefined) list.format(at, 'email', error)
        return
      }
      case 'phone_number': {
        const error = this.#phone(value)
        if (error !== undefined) list.format(at, 'phone', error)
        return
      }
      case 'url':
        if (!isAbsoluteUri(value)) list.format(at, 'uri', 'input URL must be absolute')
        return
      case 'country_code':
        if (!alpha2.has(value)) list.format(at, 'iso3166-1-alpha-2')
        return
    }
  }
}

/**
 * The codes Authgear's `iso3166-1-alpha-2` format accepts (`territoryutil.Alpha2`): the regions
 * libphonenumber supports, less `AC` and `TA`. Not every two capitals: `UK` and `AQ` are refused.
 */
const alpha2: ReadonlySet<string> = new Set(getCountries().filter((code) => code !== 'AC' && code !== 'TA'))
