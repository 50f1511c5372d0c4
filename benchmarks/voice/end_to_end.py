"""A 3 s voice note to its reply through the local pipeline: the Lambda code on moto and the stand-ins,
GetWhatsAppMessageMedia into S3, ffmpeg, faster-whisper, the local knowledge base.

python benchmarks/voice/end_to_end.py [--runs 7]

Timed from the envelope published on the inbound topic to the reply sent (the twin's drain), with the
model already loaded (the answer function's first voice note also loads it: printed apart), against the
same question typed.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

from assistant.local import knowledge_home
from assistant.local.envelopes import text_envelope, voice_envelope
from assistant.local.runtime import LocalCloud, shared_embedder

NOTE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "voice" / "keynote-en.ogg"
SENDER = "15550100999"


def timed(cloud: LocalCloud, envelope: dict[str, object]) -> tuple[float, str]:
    before = len(cloud.social.calls)
    started = time.perf_counter()
    cloud.publish_inbound(json.dumps(envelope))
    cloud.drain()
    seconds = time.perf_counter() - started
    texts = [c["message"] for c in cloud.social.calls[before:] if c["message"].get("type") == "text"]
    return seconds, texts[-1]["text"]["body"] if texts else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voice-bench-") as directory:
        home = Path(directory)
        knowledge = knowledge_home.open_knowledge_base(home, shared_embedder(), seed=True)
        with LocalCloud(home, log_stream=io.StringIO(), knowledge_base=knowledge) as cloud:
            voice: list[float] = []
            typed: list[float] = []
            for run in range(args.runs + 1):
                media_id = f"bench{run}"
                cloud.social.add_media(media_id, NOTE)
                seconds, body = timed(cloud, voice_envelope(media_id, sender=SENDER))
                if run == 0:
                    print(f"first voice note (loads the model): {seconds:.2f} s")
                    print("reply: " + body.replace("\n", " / ")[:120])
                else:
                    voice.append(seconds)
                seconds, _ = timed(cloud, text_envelope("where is the opening keynote?", sender=SENDER))
                if run:
                    typed.append(seconds)
            leftovers = cloud.media_objects()
    print(
        f"3.0 s voice note to its reply, warm, median of {args.runs}: {statistics.median(voice):.2f} s "
        f"(min {min(voice):.2f}); the same question typed: {statistics.median(typed):.2f} s"
    )
    print(f"objects left in the media bucket: {len(leftovers)}")


if __name__ == "__main__":
    main()
