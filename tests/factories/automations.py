"""Definitions shared by the automations tests."""

EXAMPLE = """\
name: order-intake
owner: ops
description: Shape an incoming order and answer.
trigger:
  webhook:
    respond: result
    schema:
      type: object
      required: [id, total]
      properties:
        id: {type: string}
        total: {type: number}
steps:
  - id: shape
    transform:
      value:
        order: $.trigger.body.id
        big: $.trigger.body.total > `100`
  - id: check
    condition:
      if: $.steps.shape.big
      then: flag
      else: end
  - id: flag
    log: {message: big order, fields: {order: $.steps.shape.order}}
output: $.steps.shape
"""
