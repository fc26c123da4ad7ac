from premium.models import ScanKind

from ._scan import ScanCommand


class Command(ScanCommand):
    help = "Run (or resume) the SmartSpot scan: release likely-empty places in sold-out classes."
    kind = ScanKind.SMARTSPOT
    noun = "SmartSpot"
