"""Media: a union on `type` of Photo, Video and AnimatedGif.

The page's Media table lists every field together; the 2.166 spec puts each on the
subtype it belongs to (alt_text and url on photos, playback metrics on videos...). The
shared members are declared once in `MEDIA_BASE`, and fields used by two subtypes
(preview_image_url, variants) once as constants.
"""

from __future__ import annotations

from harness.model._dsl import Arr, Definition, Field, Int, Obj, Ref, Str, Union_, Variant

_COUNT = Int(minimum=0)

MEDIA_BASE = Obj(
    "MediaBase",
    (
        Field(
            "type",
            Str(),
            required=True,
            default=True,
            doc="Kind of content: photo, video or animated_gif (the union tag).",
        ),
        Field("media_key", Ref("MediaKey"), default=True, doc="Unique identifier of the media."),
        Field("height", Int(minimum=0), doc="Height of the content in pixels."),
        Field("width", Int(minimum=0), doc="Width of the content in pixels."),
    ),
    doc="Members every media object has.",
)

_PREVIEW_IMAGE_URL = Field(
    "preview_image_url",
    Str(format="uri"),
    doc="URL of the static placeholder preview of the content.",
)
_VARIANTS = Field(
    "variants",
    Arr(Ref("MediaVariant")),
    doc="Playback variants in different resolutions or formats.",
)

PHOTO = MEDIA_BASE.extend(
    "Photo",
    Field(
        "alt_text",
        Str(max_length=1000),
        doc="Image description for accessibility (up to 1000 characters; images only).",
    ),
    Field("url", Str(format="uri"), doc="Direct URL to the media file on X (photos only)."),
    doc="A photo.",
)
VIDEO = MEDIA_BASE.extend(
    "Video",
    Field("duration_ms", _COUNT, doc="Duration of the video in milliseconds."),
    Field(
        "non_public_metrics",
        Ref("MediaNonPublicMetrics"),
        doc="Non-public playback metrics; needs user-context authentication.",
    ),
    Field(
        "organic_metrics",
        Ref("MediaOrganicMetrics"),
        doc="Playback metrics in an organic context; needs user-context authentication.",
    ),
    _PREVIEW_IMAGE_URL,
    Field(
        "promoted_metrics",
        Ref("MediaPromotedMetrics"),
        doc="Playback metrics while promoted; needs user-context authentication.",
    ),
    Field("public_metrics", Ref("MediaPublicMetrics"), doc="Public engagement metrics (view count)."),
    _VARIANTS,
    doc="A video.",
)
ANIMATED_GIF = MEDIA_BASE.extend(
    "AnimatedGif",
    _PREVIEW_IMAGE_URL,
    Field(
        "public_metrics",
        Ref("MediaPublicMetrics"),
        doc=(
            "Public engagement metrics (view count). The spec declares them on videos only; real "
            "animated GIFs carry them too (evidence: real objects recorded 2021-2023, issue 14)."
        ),
    ),
    _VARIANTS,
    doc="An animated GIF (delivered as a looping video).",
)

MEDIA = Union_(
    name="Media",
    tag="type",
    variants=(
        Variant(("photo",), "Photo"),
        Variant(("video",), "Video"),
        Variant(("animated_gif",), "AnimatedGif"),
    ),
    doc="Media attached to a Tweet, expanded with attachments.media_keys.",
)

_VIEW_COUNT = Field("view_count", _COUNT, doc="Number of times the video has been viewed.")

MEDIA_NON_PUBLIC_METRICS = Obj(
    "MediaNonPublicMetrics",
    tuple(
        Field(f"playback_{p}_count", _COUNT, doc=f"Number of users who watched {p}% of the video.")
        for p in (0, 25, 50, 75, 100)
    ),
    doc="How many users watched each quarter of the video.",
)

DEFINITIONS: tuple[Definition, ...] = (
    MEDIA,
    PHOTO,
    VIDEO,
    ANIMATED_GIF,
    Obj(
        "MediaVariant",
        (
            Field("bit_rate", _COUNT, doc="Bit rate of this variant."),
            Field("content_type", Str(), doc="MIME type of this variant, e.g. video/mp4."),
            Field("url", Str(format="uri"), doc="URL of this variant."),
        ),
        doc="One display or playback variant of a media object.",
    ),
    Obj("MediaPublicMetrics", (_VIEW_COUNT,), doc="Public engagement metrics of the media."),
    MEDIA_NON_PUBLIC_METRICS,
    MEDIA_NON_PUBLIC_METRICS.extend(
        "MediaOrganicMetrics",
        _VIEW_COUNT,
        doc="Playback and view counts in an organic context.",
    ),
    MEDIA_NON_PUBLIC_METRICS.extend(
        "MediaPromotedMetrics",
        _VIEW_COUNT,
        doc="Playback and view counts while the Tweet was promoted.",
    ),
)
