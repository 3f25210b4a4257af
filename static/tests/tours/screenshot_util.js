/**
 * Tour steps that ask the test (tests/screenshot_support.py) for a screenshot of the
 * page, or of the area that the elements matching `selector` cover, and wait until it
 * is written. Imports nothing: the kiosk bridge's tours use it too, from another asset
 * bundle.
 */
export function screenshot(name, selector = "") {
    return [
        {
            content: `take the screenshot ${name}`,
            trigger: selector || "body",
            run() {
                let clip = "";
                if (selector) {
                    const rects = [...document.querySelectorAll(selector)].map((element) =>
                        element.getBoundingClientRect(),
                    );
                    const x = Math.min(...rects.map((rect) => rect.left));
                    const y = Math.min(...rects.map((rect) => rect.top));
                    const width = Math.max(...rects.map((rect) => rect.right)) - x;
                    const height = Math.max(...rects.map((rect) => rect.bottom)) - y;
                    clip = "@" + JSON.stringify({ x, y, width, height });
                }
                console.log(`caisse_ap_screenshot:${name}${clip}`);
            },
        },
        {
            content: `the screenshot ${name} is saved`,
            trigger: `body[data-caisse-ap-shot="${name}"]`,
        },
    ];
}
