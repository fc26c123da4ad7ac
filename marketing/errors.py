"""Errors of the marketing app; messages are for the studio owner who caused them."""


class SpotlightError(Exception):
    code = "spotlight_error"

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None):
        self.fields = fields or {}
        self.message = message or " ".join(self.fields.values())
        super().__init__(self.message)
