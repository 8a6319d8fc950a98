/** What a row deleted in the source does to its Authgear user (a Debezium `op: d`, or a row `gearbridge sweep` finds gone). */
export const DeletePolicies = ['ignore', 'disable', 'delete'] as const
export type DeletePolicy = (typeof DeletePolicies)[number]
