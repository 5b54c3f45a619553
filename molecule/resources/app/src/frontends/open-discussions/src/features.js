module.exports = ["channels", "podcasts", "courses", "search"];
