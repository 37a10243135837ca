"""Condenses `rasa train` output to progress lines: components and every 10th epoch.

tqdm redraws its bar with carriage returns, so the stream is split on both
``\\r`` and ``\\n`` as it arrives.
"""

import re
import sys

EPOCH = re.compile(r"Epochs:.*?(\d+)/(\d+) \[")


def lines(stream):
    pending = ""
    while chunk := stream.read(512):
        pending += chunk
        *complete, pending = re.split(r"[\r\n]", pending)
        yield from complete
    if pending:
        yield pending


def main() -> None:
    last = None
    for line in lines(sys.stdin):
        if "Starting to train component" in line:
            print("    training", line.split("Starting to train component")[-1].strip(" .'"), flush=True)
        elif "Nothing changed" in line or "Your Rasa model is trained" in line:
            print("    " + line.split(" - ")[-1].strip(), flush=True)
        match = EPOCH.search(line)
        if match and match.group(1) != last:
            done, total = match.groups()
            if int(done) % 10 == 0 or done == total:
                print(f"      epoch {done}/{total}", flush=True)
            last = done


if __name__ == "__main__":
    main()
