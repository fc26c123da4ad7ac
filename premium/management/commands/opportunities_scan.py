from premium.models import ScanKind

from ._scan import ScanCommand


class Command(ScanCommand):
    help = "Run (or resume) the Opportunities scan: recommend where studios could add spots."
    kind = ScanKind.OPPORTUNITIES
    noun = "Opportunities"
