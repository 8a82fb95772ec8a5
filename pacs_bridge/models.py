"""PACS nodes an admin configures, to query and pull from."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

# PS3.5 6.2: an AE title is 1-16 characters of the default repertoire, no backslash.
ae_title_validator = RegexValidator(
    r"^[\x20-\x5b\x5d-\x7e]{1,16}$", "An AE title is 1 to 16 printable ASCII characters."
)


class PacsNode(models.Model):
    class RetrieveMethod(models.TextChoices):
        C_MOVE = "c-move", "C-MOVE to our listener"
        C_GET = "c-get", "C-GET"

    name = models.CharField(max_length=64, unique=True)
    ae_title = models.CharField("remote AE title", max_length=16, validators=[ae_title_validator])
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    calling_ae_title = models.CharField(
        "our calling AE title",
        max_length=16,
        default="TEACHFILE",
        validators=[ae_title_validator],
    )
    retrieve_method = models.CharField(
        max_length=8, choices=RetrieveMethod.choices, default=RetrieveMethod.C_MOVE
    )
    timeout_seconds = models.PositiveIntegerField(default=30)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "PACS node"

    def __str__(self) -> str:
        return f"{self.name} ({self.ae_title}@{self.host}:{self.port})"


class SearchToken(models.Model):
    """One study of an author's PACS search, opened later through an opaque token.

    The sessions hold nothing from the PACS: the original Study Instance UID stays on the
    server, Fernet-encrypted with the re-identification key, for a few hours
    (``PACS_SEARCH_TOKEN_TTL``); only its author can open it (pacs_bridge.search_tokens).
    """

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    node = models.ForeignKey(PacsNode, on_delete=models.CASCADE)
    study_ciphertext = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "PACS search token"

    def __str__(self) -> str:
        return f"search token of {self.user_id} on {self.node_id}"
