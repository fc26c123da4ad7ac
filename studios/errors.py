"""Errors of the studios app; messages are for the staff member who caused them."""


class InventoryError(Exception):
    """A change to a class, a schedule or a studio's settings was refused.

    `fields` maps form field names to messages, so a form can show each where it belongs.
    """

    code = "inventory_error"

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None):
        self.fields = fields or {}
        self.message = message or " ".join(self.fields.values())
        super().__init__(self.message)
